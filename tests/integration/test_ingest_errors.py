"""Every bad publish: a clear error, a 4xx, nothing stored, nothing sent."""
import json
import socket
import time

import pytest
import requests

from services.auth.service import AuthService
from services.files.service import FilesService
from services.gateway.service import GatewayService
from services.notify.service import NotifyService
from tests.support.system import add_community, ingest, rpc, stored_blobs


@pytest.fixture
def system(runner_factory, service_config):
    config = {**service_config, "MAX_UPLOAD_BYTES": 1000}
    runner_factory(config, AuthService, FilesService, NotifyService, GatewayService).start()
    add_community(config)
    return config


@pytest.mark.parametrize(
    "request_args, status, message",
    [
        ({"key": None}, 401, "API key"),
        ({"key": "wrong-key-wrong-key-wrong"}, 401, "API key"),
        ({"community_id": "onbekend"}, 404, "unknown community"),
        ({"content": b""}, 400, "empty"),
        ({"content": b"x" * 1001}, 413, "larger than the maximum"),
        ({"filename": "../../etc/passwd"}, 400, "path"),
        ({"filename": "bestand\x07.csv"}, 400, "control"),
        ({"filename": "a" * 300 + ".csv"}, 400, "longer than 255"),
        ({"field": "document"}, 400, "field 'file'"),
        ({"data": {"kind": "wekelijks"}}, 400, "kind"),
    ],
)
def test_bad_publish_is_refused_and_leaves_nothing(system, mail_sink, request_args, status, message):
    response = ingest(system, **request_args)
    assert response.status_code == status, response.text
    body = response.json()
    assert message in body["message"]
    assert "Traceback" not in response.text
    assert stored_blobs(system) == {}
    assert rpc(system, "files", "list_files", community_id="zonnedelen-gent") == []
    time.sleep(0.3)
    assert mail_sink.messages() == []


def test_401_names_the_scheme(system):
    response = ingest(system, key=None)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_chunked_upload_without_length_is_refused(system):
    def body():
        yield b"--x\r\n"

    response = requests.post(
        f"{system['PUBLIC_BASE_URL']}/api/v1/communities/zonnedelen-gent/files",
        headers={"Authorization": "Bearer test-ingest-key-0123456789abcdef",
                 "Content-Type": "multipart/form-data; boundary=x"},
        data=body(), timeout=10,
    )
    assert response.status_code == 411
    assert stored_blobs(system) == {}


def test_a_stalled_upload_is_cut_off_and_leaves_nothing(runner_factory, service_config):
    """A worker reading an upload waits at most REQUEST_IDLE_SECONDS for the next bytes."""
    config = {**service_config, "REQUEST_IDLE_SECONDS": 1}
    runner_factory(config, AuthService, FilesService, GatewayService).start()
    add_community(config)
    host, port = config["WEB_SERVER_ADDRESS"].split(":")
    head = (b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
            b"Content-Type: text/csv\r\n\r\nean;afname\n")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/communities/zonnedelen-gent/files HTTP/1.1\r\nHost: x\r\n"
                     b"Authorization: Bearer test-ingest-key-0123456789abcdef\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n" + head)
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(65536):  # then nothing more is sent
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"408", answer
    assert "stalled" in json.loads(rest.partition(b"\r\n\r\n")[2])["message"]
    assert time.monotonic() - started < 5
    assert stored_blobs(config) == {}


def test_not_multipart_is_refused(system):
    response = requests.post(
        f"{system['PUBLIC_BASE_URL']}/api/v1/communities/zonnedelen-gent/files",
        headers={"Authorization": "Bearer test-ingest-key-0123456789abcdef", "Content-Type": "text/csv"},
        data=b"a;b\n", timeout=10,
    )
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["message"]


def test_unknown_routes_and_methods_answer_json_without_details(system):
    base = system["PUBLIC_BASE_URL"]
    missing = requests.get(f"{base}/api/v1/nothing", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = requests.get(f"{base}/api/v1/communities/zonnedelen-gent/files", timeout=5)
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"]


def test_health_and_openapi(system):
    base = system["PUBLIC_BASE_URL"]
    assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
    document = requests.get(f"{base}/api/v1/openapi.json", timeout=5).json()
    operation = document["paths"]["/api/v1/communities/{community_id}/files"]["post"]
    assert set(operation["responses"]) >= {"201", "400", "401", "404", "413"}
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file"]


def test_a_service_that_is_down_gives_503_in_bounded_time(runner_factory, service_config):
    config = {**service_config, "RPC_TIMEOUT_SECONDS": 1}
    runner_factory(config, GatewayService).start()  # auth and files are not running
    started = time.monotonic()
    response = ingest(config)
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    assert time.monotonic() - started < 5
