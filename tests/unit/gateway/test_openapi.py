"""The ingest API's OpenAPI document: valid OpenAPI 3.1, stating the limits the handlers enforce."""
import json
import re

import pytest
from nameko.testing.services import worker_factory
from openapi_spec_validator import validate
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway.settings import GatewaySettings
from services.auth import contacts
from services.gateway.service import GatewayService
from shared.errors import InvalidInput

INGEST = "/api/v1/communities/{community_id}/files"


def served(**config):
    service = worker_factory(GatewayService, settings=GatewaySettings.load(config))
    response = service.openapi_document(Request(EnvironBuilder("/api/v1/openapi.json").get_environ()))
    assert response.status_code == 200 and response.mimetype == "application/json"
    return json.loads(response.get_data())


def test_the_served_document_is_valid_openapi():
    document = served()
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_the_document_states_the_upload_limit_of_the_settings():
    document = served(MAX_UPLOAD_BYTES=12345, PUBLIC_BASE_URL="https://energiepost.example")
    schema = document["paths"][INGEST]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "1 to 12345 bytes" in schema["properties"]["file"]["description"]
    assert "at most 255 characters" in schema["properties"]["file"]["description"]
    assert document["servers"] == [{"url": "https://energiepost.example"}]


@pytest.mark.parametrize("community_id", ["zonnedelen-gent", "a", "a" * 64, "a" * 65, "-gent", "gent-", "Gent", "g_nt"])
def test_the_community_id_pattern_accepts_what_auth_accepts(community_id):
    (parameter,) = [p for p in served()["paths"][INGEST]["post"]["parameters"] if p["name"] == "community_id"]
    try:
        accepted = contacts.community_id(community_id) == community_id
    except InvalidInput:
        accepted = False
    assert bool(re.search(parameter["schema"]["pattern"], community_id)) == accepted


@pytest.mark.parametrize("key", ["batch-7", "settlement:2026-10.v2", "x" * 100, "x" * 101, "with space", "", "é"])
def test_the_idempotency_key_pattern_accepts_what_the_gateway_accepts(key):
    from services.gateway import ingest

    (parameter,) = [p for p in served()["paths"][INGEST]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
    request = Request(EnvironBuilder("/", headers={"Idempotency-Key": key}).get_environ())
    try:
        accepted = ingest.idempotency_key(request) == key
    except InvalidInput:
        accepted = False
    assert bool(re.search(parameter["schema"]["pattern"], key)) == accepted
