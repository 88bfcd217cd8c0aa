"""The gateway's edge against an attacker on the internet: portal bodies are small,
url-encoded and on time, refused before they are read; slow bodies hold no worker and
`/healthz` answers while every worker is busy.  The gateway runs as its own process
(as `make run` starts it), so that its memory can be measured."""
import http.client
import os
import socket
import time
from pathlib import Path

import eventlet
import pytest
import requests

from tests.support.launch import fresh_vhost, gateway_process, system_environment
from tests.support.system import CSRF_SECRET, INGEST_KEY

MiB = 1024 * 1024
ATTACK_BYTES = 300 * MiB
BODY_SECONDS = 2  # PORTAL_BODY_SECONDS of the gateway under test
CSRF_COOKIE = "ep_csrf=" + "c" * 43
FORM = "application/x-www-form-urlencoded"


class Gateway:
    def __init__(self, process, env, tmpdir: Path):
        self.process, self.env, self.tmpdir = process, env, tmpdir
        self.base_url = env["PUBLIC_BASE_URL"]
        host, port = env["GATEWAY_ADDRESS"].split(":")
        self.address = (host, int(port))

    def memory(self, field: str) -> int:
        """``VmRSS`` (now) or ``VmHWM`` (the peak so far) of the gateway process, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(field)

    def reset_peak(self) -> None:
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS

    def open_temporary_files(self) -> list[str]:
        """Files under the gateway's TMPDIR it holds open (werkzeug spools with O_TMPFILE: no name)."""
        found = []
        for fd in Path(f"/proc/{self.process.pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(str(self.tmpdir)):
                found.append(target)
        return found

    def connect(self, head: str) -> socket.socket:
        """A connection that has sent a request's head (request line and headers) and no body yet."""
        sock = socket.create_connection(self.address, timeout=30)
        sock.sendall(head.encode("latin-1"))
        return sock


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    root = tmp_path_factory.mktemp("gateway")
    tmpdir = root / "tmp"
    tmpdir.mkdir()
    with fresh_vhost() as amqp_uri:
        env = {
            **system_environment(amqp_uri, root / "var"),
            "ENERGIEPOST_ENV": "production",
            "INGEST_API_KEYS": INGEST_KEY,
            "CSRF_SECRET": CSRF_SECRET,
            "PORTAL_BODY_SECONDS": str(BODY_SECONDS),
            "TMPDIR": str(tmpdir),
        }
        with gateway_process(env, root / "gateway.log") as process:
            yield Gateway(process, env, tmpdir)


def head(method: str, path: str, *, length: int | None = None, content_type: str | None = None,
         cookie: str | None = None, extra: str = "") -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return "\r\n".join(lines) + "\r\n" + extra + "\r\n"


def response_of(sock: socket.socket, timeout: float) -> http.client.HTTPResponse:
    sock.settimeout(timeout)
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.body = response.read()
    return response


def send_all(sock: socket.socket, size: int, prefix: bytes = b"", suffix: bytes = b"") -> int:
    """Send a body of ``size`` bytes as fast as the gateway takes it; how many bytes went out
    before it closed the connection."""
    sent = 0
    chunk = b"a" * MiB
    try:
        sock.sendall(prefix)
        while sent < size:
            sock.sendall(chunk[: min(MiB, size - sent)])
            sent += min(MiB, size - sent)
        sock.sendall(suffix)
    except OSError:  # the gateway answered and closed: the rest is never read
        pass
    return sent


# --- a huge body: refused unread, no memory, no temporary file ------------------------------------

MULTIPART_PREFIX = (b"--X\r\nContent-Disposition: form-data; name=\"login\"; filename=\"big.bin\"\r\n"
                    b"Content-Type: application/octet-stream\r\n\r\n")
MULTIPART_SUFFIX = b"\r\n--X--\r\n"


@pytest.mark.parametrize("kind, content_type, prefix, suffix, status", [
    ("urlencoded", FORM, b"login=", b"", 413),
    ("multipart", "multipart/form-data; boundary=X", MULTIPART_PREFIX, MULTIPART_SUFFIX, 415),
])
def test_a_300_mib_login_post_is_refused_without_memory_or_temporary_files(gateway, kind, content_type, prefix,
                                                                           suffix, status):
    assert requests.get(gateway.base_url + "/login", timeout=5).status_code == 200  # warm
    gateway.reset_peak()
    before = gateway.memory("VmRSS")
    length = len(prefix) + ATTACK_BYTES + len(suffix)
    sock = gateway.connect(head("POST", "/login", length=length, content_type=content_type))
    temporary = set()
    watching = True

    def watch():
        while watching:
            temporary.update(gateway.open_temporary_files())
            eventlet.sleep(0.02)

    watcher = eventlet.spawn(watch)
    sender = eventlet.spawn(send_all, sock, ATTACK_BYTES, prefix, suffix)
    started = time.monotonic()
    response = response_of(sock, timeout=120)
    answered = time.monotonic() - started
    sent = sender.wait()
    watching = False
    watcher.wait()
    sock.close()
    growth = gateway.memory("VmHWM") - before
    print(f"\n{kind}: {response.status} after {answered:.2f} s, {sent / MiB:.0f} MiB sent, "
          f"gateway RSS {before / MiB:.0f} MiB, peak growth {growth / MiB:.1f} MiB, temporary files {temporary}")

    assert response.status == status, response.body[:300]
    assert b"Traceback" not in response.body
    assert growth < 20 * MiB, f"the gateway grew by {growth / MiB:.0f} MiB"
    assert temporary == set() and list(gateway.tmpdir.iterdir()) == []
    assert sent < ATTACK_BYTES, "the gateway read the whole body"
    assert requests.get(gateway.base_url + "/healthz", timeout=5).json() == {"status": "ok"}


# --- refused from the request's head alone ----------------------------------------------------------

@pytest.mark.parametrize("what, request_head, status", [
    ("over 64 KiB", head("POST", "/login", length=64 * 1024 + 1, content_type=FORM, cookie=CSRF_COOKIE), 413),
    ("multipart", head("POST", "/login", length=100, content_type="multipart/form-data; boundary=X",
                       cookie=CSRF_COOKIE), 415),
    ("not a form", head("POST", "/files/delete/confirm", length=100, content_type="application/json",
                        cookie=CSRF_COOKIE), 415),
    ("no CSRF cookie", head("POST", "/login", length=100, content_type=FORM), 403),
    ("chunked", head("POST", "/forgot", content_type=FORM, cookie=CSRF_COOKIE,
                     extra="Transfer-Encoding: chunked\r\n"), 411),
    ("a body on a GET", head("GET", "/files", length=10 * MiB, content_type=FORM), 413),
    ("an unknown page", head("POST", "/nothing", length=10 * MiB, content_type=FORM, cookie=CSRF_COOKIE), 404),
])
def test_a_portal_request_is_refused_before_its_body_is_read(gateway, what, request_head, status):
    sock = gateway.connect(request_head)  # and no body at all: the answer cannot wait for it
    try:
        response = response_of(sock, timeout=3)
    finally:
        sock.close()
    assert response.status == status, (what, response.body[:300])
    assert response.getheader("Content-Type").startswith("text/html")
    assert b"Traceback" not in response.body


# --- slow bodies ---------------------------------------------------------------------------------------

def test_twenty_slow_bodies_hold_no_worker_and_healthz_answers(gateway):
    """config.yaml gives the gateway 10 workers; 20 connections trickle a login form in."""
    slow = [gateway.connect(head("POST", "/login", length=2000, content_type=FORM, cookie=CSRF_COOKIE))
            for _ in range(20)]

    def trickle(sock):
        try:
            for _ in range(2000):
                sock.sendall(b"a")
                eventlet.sleep(0.25)
        except OSError:  # cut off by the gateway
            pass

    tricklers = [eventlet.spawn(trickle, sock) for sock in slow]
    eventlet.sleep(0.5)
    started = time.monotonic()
    health = requests.get(gateway.base_url + "/healthz", timeout=5)
    health_seconds = time.monotonic() - started
    page = requests.get(gateway.base_url + "/login", timeout=5)  # a page needs a worker
    page_seconds = time.monotonic() - started - health_seconds

    assert health.json() == {"status": "ok"} and health_seconds < 1, health_seconds
    assert page.status_code == 200 and page_seconds < 2, page_seconds
    statuses = [response_of(sock, timeout=BODY_SECONDS + 5).status for sock in slow]
    assert statuses == [408] * 20  # cut off after PORTAL_BODY_SECONDS
    for sock, trickler in zip(slow, tricklers):
        trickler.kill()
        sock.close()
