"""The served OpenAPI document is the one the module builds, and every status it documents
for the ingest route is one the gateway answers, with the documented body."""
import json
import socket

import pytest
import requests
from nameko.testing.utils import get_container
from openapi_schema_validator import OAS31Validator, oas31_format_checker, validate

from services.gateway.settings import GatewaySettings
from services.auth.service import AuthService
from services.files.service import FilesService
from services.gateway import openapi
from services.gateway.service import GatewayService
from services.notify.service import NotifyService
from tests.support.system import INGEST_KEY, add_community, ingest

INGEST = "/api/v1/communities/{community_id}/files"


@pytest.fixture
def system(runner_factory, service_config):
    config = {**service_config, "MAX_UPLOAD_BYTES": 1000, "REQUEST_IDLE_SECONDS": 1, "RPC_TIMEOUT_SECONDS": 2}
    runner = runner_factory(config, AuthService, FilesService, NotifyService, GatewayService)
    runner.start()
    add_community(config)
    return config, runner


def served_document(config) -> dict:
    response = requests.get(f"{config['PUBLIC_BASE_URL']}/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    return response.json()


def test_the_served_document_is_the_one_the_module_builds(system):
    config, _ = system
    settings = GatewaySettings.load(config)
    assert served_document(config) == openapi.document(
        public_base_url=config["PUBLIC_BASE_URL"], max_upload_bytes=1000, retention_days=settings.retention_days)


def stalled(config) -> requests.Response:
    """A body that stops arriving: the gateway gives up after REQUEST_IDLE_SECONDS."""
    host, port = config["WEB_SERVER_ADDRESS"].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/communities/zonnedelen-gent/files HTTP/1.1\r\nHost: x\r\n"
                     b"Authorization: Bearer " + INGEST_KEY.encode() + b"\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 900\r\n\r\n--x\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    response = requests.Response()
    response.status_code, response._content = int(head.split()[1]), body
    return response


def chunked(config) -> requests.Response:
    return requests.post(f"{config['PUBLIC_BASE_URL']}/api/v1/communities/zonnedelen-gent/files",
                         headers={"Authorization": f"Bearer {INGEST_KEY}",
                                  "Content-Type": "multipart/form-data; boundary=x"},
                         data=iter([b"--x\r\n"]), timeout=10)


def test_every_documented_ingest_status_is_answered_with_its_documented_body(system):
    config, runner = system
    document = served_document(config)
    answers = [
        ingest(config),
        ingest(config, content=b""),
        ingest(config, key=None),
        ingest(config, community_id="onbekend"),
        ingest(config, idempotency_key="batch-7"),
        ingest(config, idempotency_key="batch-7", content=b"other content\n"),  # 409: the key is taken
        stalled(config),
        chunked(config),
        ingest(config, content=b"x" * 1001),
    ]
    get_container(runner, AuthService).stop()
    answers.append(ingest(config))  # auth does not answer

    responses = document["paths"][INGEST]["post"]["responses"]
    assert sorted(answer.status_code for answer in answers) == sorted([*map(int, responses), 201])
    for answer in answers:
        reference = responses[str(answer.status_code)]["content"]["application/json"]["schema"]["$ref"]
        schema = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
        validate(json.loads(answer.content), schema, cls=OAS31Validator, format_checker=oas31_format_checker)
        if answer.status_code >= 400:
            assert f"(error `{json.loads(answer.content)['error']}`)" in responses[str(answer.status_code)]["description"]


def test_every_documented_file_status_answer_is_given_with_its_documented_body(system):
    config, runner = system
    document = served_document(config)
    file_id = ingest(config).json()["id"]

    def status(file_id, key=INGEST_KEY):
        return requests.get(f"{config['PUBLIC_BASE_URL']}/api/v1/files/{file_id}",
                            headers={"Authorization": f"Bearer {key}"} if key else {}, timeout=10)

    answers = [status(file_id), status(file_id, key=None), status("00000000-0000-0000-0000-000000000000"),
               status("no-uuid")]
    get_container(runner, FilesService).stop()
    answers.append(status(file_id))

    responses = document["paths"]["/api/v1/files/{file_id}"]["get"]["responses"]
    assert sorted(answer.status_code for answer in answers) == sorted([*map(int, responses), 404])
    for answer in answers:
        reference = responses[str(answer.status_code)]["content"]["application/json"]["schema"]["$ref"]
        schema = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
        validate(json.loads(answer.content), schema, cls=OAS31Validator, format_checker=oas31_format_checker)
    assert answers[0].json()["status"] in ("published", "emailed") and answers[0].json()["id"] == file_id
