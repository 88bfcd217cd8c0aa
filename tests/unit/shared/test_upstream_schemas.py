"""The JSON Schemas in docs/schemas/ are generated from the message contract, and say what
``parse`` says."""
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from shared import contract

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


def test_the_committed_schemas_are_the_generated_ones():
    committed = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in SCHEMAS.glob("*.json")}
    assert committed == contract.upstream_schemas(), "run: python -m shared.contract"


REQUEST = dict(request_id="settlement-1", community_id="zonnedelen-gent", object_key="2026-10/a.csv", name="a.csv",
               size=5, sha256="a" * 64, kind="periodic", shared_by=None, period="2026-10")


@pytest.mark.parametrize("change, valid", [
    ({}, True),
    ({"size": "5"}, False),
    ({"kind": "weekly"}, False),
    ({"object_key": "../x"}, False),
    ({"object_key": "/etc/passwd"}, False),
    ({"request_id": "with space"}, False),
    ({"version": 2}, False),
    ({"colour": "blue"}, False),
])
def test_schema_and_parser_agree(change, valid):
    payload = {**contract.PUBLISH_REQUESTED.build(**REQUEST), **change}
    schema_errors = list(Draft202012Validator(contract.json_schema(contract.PUBLISH_REQUESTED)).iter_errors(payload))
    try:
        contract.PUBLISH_REQUESTED.parse(payload)
        parsed = True
    except contract.ContractError:
        parsed = False
    assert (not schema_errors, parsed) == (valid, valid)


def test_every_upstream_event_has_a_schema_its_payloads_meet():
    for event in (contract.PUBLISH_REQUESTED, *contract.UPSTREAM_EVENTS):
        assert f"{event.name}.v{event.version}.json" in contract.upstream_schemas()
