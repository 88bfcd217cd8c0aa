import uuid
from datetime import datetime, timezone

import pytest

from shared.contract import EVENTS, FILE_PUBLISHED, ContractError

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)


def published(**overrides):
    fields = dict(
        file_id=str(uuid.uuid4()), community_id="zonnedelen-gent", name="a.csv", size=12,
        sha256="a" * 64, kind="periodic", shared_by="Fluvius",
        published_at=NOW.isoformat(), expires_at=NOW.isoformat(),
    )
    fields.update(overrides)
    return fields


def test_build_adds_the_envelope():
    payload = FILE_PUBLISHED.build(**published())
    assert uuid.UUID(payload["event_id"])
    assert datetime.fromisoformat(payload["occurred_at"]).tzinfo is not None
    assert payload["version"] == 1


def test_parse_accepts_what_build_makes():
    payload = FILE_PUBLISHED.build(**published())
    assert FILE_PUBLISHED.parse(dict(payload)) == payload


@pytest.mark.parametrize(
    "change, complaint",
    [
        ({"size": "12"}, "size"),
        ({"size": True}, "size"),
        ({"kind": "weekly"}, "kind"),
        ({"sha256": "xyz"}, "sha256"),
        ({"file_id": "not-a-uuid"}, "file_id"),
        ({"published_at": "2026-11-26T10:00:00"}, "published_at"),  # no zone
        ({"community_id": ""}, "community_id"),
        ({"surprise": 1}, "unknown fields"),
    ],
)
def test_parse_rejects_bad_fields(change, complaint):
    payload = FILE_PUBLISHED.build(**published())
    payload.update(change)
    with pytest.raises(ContractError, match=complaint):
        FILE_PUBLISHED.parse(payload)


def test_parse_rejects_missing_fields_and_other_versions():
    payload = FILE_PUBLISHED.build(**published())
    del payload["file_id"]
    with pytest.raises(ContractError, match="missing field 'file_id'"):
        FILE_PUBLISHED.parse(payload)
    with pytest.raises(ContractError, match="version"):
        FILE_PUBLISHED.parse({**FILE_PUBLISHED.build(**published()), "version": 2})
    with pytest.raises(ContractError):
        FILE_PUBLISHED.parse(["not", "a", "dict"])


def test_every_event_names_follow_the_convention():
    for event in EVENTS:
        assert event.name.split("_")[-1].endswith(("ed", "ing", "due")), event.name
