"""Tests for ops.sms_sink, the development HTTP SMS gateway sink.

The sink runs as a real subprocess: the test process may be monkey-patched by
eventlet, and the sink must work as ``make run`` starts it anyway.
"""

import datetime
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ops import sms_sink
from tests.support.sinks import SinkProcess, free_port

HOST = "127.0.0.1"
NUMBER = "+32470123456"


class Sink:
    def __init__(self, tmp_path, *extra):
        self.file = tmp_path / "var" / "sms.jsonl"  # parent does not exist yet
        self.process = SinkProcess("ops.sms_sink", free_port(), ["--file", str(self.file), *extra], log_dir=tmp_path)
        self.port, self.out = self.process.port, self.process.out
        self.url = f"http://{HOST}:{self.port}"

    def stop(self, timeout=5.0):
        return self.process.stop(timeout)

    def post(self, payload=None, data=None):
        return requests.post(self.url + "/messages", json=payload, data=data, timeout=10)

    def lines(self):
        if not self.file.exists():
            return []
        text = self.file.read_text(encoding="utf-8")
        assert text == "" or text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def start_sink(tmp_path):
    sinks = []

    def start(*extra):
        sinks.append(Sink(tmp_path, *extra))
        return sinks[-1]

    yield start
    for sink in sinks:
        assert sink.stop() == 0


@pytest.fixture(scope="module")
def idle_sink(tmp_path_factory):
    """One sink shared by tests that must not record anything."""
    sink = Sink(tmp_path_factory.mktemp("sms"))
    yield sink
    assert sink.stop() == 0


def test_prints_startup_line(start_sink):
    sink = start_sink()
    assert sink.out.read_text(encoding="utf-8") == (
        f"sms sink: {sink.url}/messages -> {sink.file}\n"
    )


def test_valid_post_is_accepted_and_recorded(start_sink):
    sink = start_sink()
    before = datetime.datetime.now(datetime.timezone.utc)
    response = sink.post({"to": NUMBER, "body": "Uw code is 123456 – één"})

    assert response.status_code == 202
    answer = response.json()
    assert answer["status"] == "accepted"
    assert len(answer["id"]) == 32 and int(answer["id"], 16) >= 0
    [line] = sink.lines()
    assert set(line) == {"to", "body", "sent_at"}
    assert line["to"] == NUMBER
    assert line["body"] == "Uw code is 123456 – één"
    assert line["sent_at"].endswith("Z")
    sent_at = datetime.datetime.fromisoformat(line["sent_at"].replace("Z", "+00:00"))
    assert before - datetime.timedelta(seconds=1) <= sent_at
    assert sent_at <= datetime.datetime.now(datetime.timezone.utc)


@pytest.mark.parametrize("data", [
    b"{not json",
    b"\xff\xfe",
    json.dumps(["+32470123456", "hallo"]).encode(),
    json.dumps({"body": "hallo"}).encode(),
    json.dumps({"to": "", "body": "hallo"}).encode(),
    json.dumps({"to": "0470123456", "body": "hallo"}).encode(),
    json.dumps({"to": "+3247", "body": "hallo"}).encode(),
    json.dumps({"to": "+32 470 12 34 56", "body": "hallo"}).encode(),
    json.dumps({"to": 32470123456, "body": "hallo"}).encode(),
    json.dumps({"to": NUMBER}).encode(),
    json.dumps({"to": NUMBER, "body": ""}).encode(),
    json.dumps({"to": NUMBER, "body": "x" * 1601}).encode(),
], ids=["not-json", "not-utf8", "not-object", "no-to", "empty-to", "no-plus", "too-short",
        "spaces", "to-not-string", "no-body", "empty-body", "body-too-long"])
def test_invalid_post_is_rejected_and_not_recorded(idle_sink, data):
    response = idle_sink.post(data=data)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)
    assert idle_sink.lines() == []


def test_http_errors(start_sink):
    sink = start_sink()
    assert requests.get(sink.url + "/healthz", timeout=10).json() == {"status": "ok"}
    assert requests.post(sink.url + "/nope", json={}, timeout=10).status_code == 404
    response = requests.get(sink.url + "/messages", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert sink.post(data=b"x" * (64 * 1024 + 1)).status_code == 413
    assert sink.post({"to": NUMBER, "body": "x" * 1600}).status_code == 202
    assert len(sink.lines()) == 1


def test_a_body_of_unknown_length_gets_411_and_is_not_recorded(start_sink):
    sink = start_sink()
    chunks = iter([json.dumps({"to": NUMBER, "body": "hallo"}).encode()])  # sent chunked
    response = requests.post(sink.url + "/messages", data=chunks, timeout=10)
    assert response.status_code == 411
    assert "Content-Length" in response.json()["error"]
    assert sink.lines() == []


def test_flags_beat_the_environment_which_beats_the_defaults(monkeypatch):
    defaults = sms_sink.parse_args([])
    assert (defaults.host, defaults.port, defaults.file, defaults.fail_first) == (
        "127.0.0.1", 8026, "var/sms.jsonl", 0)
    monkeypatch.setenv("SMS_SINK_HOST", "0.0.0.0")
    monkeypatch.setenv("SMS_SINK_PORT", "9026")
    monkeypatch.setenv("SMS_SINK_FILE", "/data/sms.jsonl")
    from_env = sms_sink.parse_args([])
    assert (from_env.host, from_env.port, from_env.file) == ("0.0.0.0", 9026, "/data/sms.jsonl")
    flags = sms_sink.parse_args(["--host", "::1", "--port", "1", "--file", "x.jsonl", "--fail-first", "2"])
    assert (flags.host, flags.port, flags.file, flags.fail_first) == ("::1", 1, "x.jsonl", 2)


def test_concurrent_posts_never_interleave(start_sink):
    sink = start_sink()
    bodies = [f"bericht {i} " + "é" * 500 for i in range(20)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda body: sink.post({"to": NUMBER, "body": body}).status_code,
                              bodies))

    assert codes == [202] * 20
    lines = sink.lines()
    assert len(lines) == 20
    assert sorted(line["body"] for line in lines) == sorted(bodies)


def test_fail_first_answers_503_then_accepts(start_sink):
    sink = start_sink("--fail-first", "1")
    payload = {"to": NUMBER, "body": "poging"}
    first = sink.post(payload)
    assert first.status_code == 503
    assert "error" in first.json()
    assert sink.lines() == []
    assert sink.post(payload).status_code == 202
    assert [line["body"] for line in sink.lines()] == ["poging"]


def test_sigterm_exits_zero_within_five_seconds(start_sink):
    sink = start_sink()
    with socket.create_connection((HOST, sink.port), timeout=5):  # an idle keep-alive client
        started = time.monotonic()
        assert sink.stop() == 0
        assert time.monotonic() - started < 5
