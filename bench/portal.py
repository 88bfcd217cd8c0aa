"""What the portal benchmarks share: the four services with a logged-in manager,
files published straight from the blob store, and an HTTP client that reads fast
enough not to be what it measures."""
from __future__ import annotations

import contextlib
import http.client
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.system import MiB, bench_system
from shared.blobs import open_blob_store
from shared.rpc import RpcClient
from tests.support.portal import PortalClient, PortalSystem
from tests.support.system import add_community

COMMUNITY = "zonnedelen-gent"
CHUNK = MiB


@contextlib.contextmanager
def logged_in_portal(**settings):
    """(system, client): all four services, one community and its manager logged in
    (initial password from the e-mail, an own password, the SMS code)."""
    with bench_system(**settings) as system:
        for service in ("auth", "files", "notify", "gateway"):
            system.start(service)
        config = {"AMQP_URI": system.amqp_uri, "PUBLIC_BASE_URL": system.base_url}
        add_community(config, community_id=COMMUNITY)
        yield system, PortalSystem(config, system.mail, system.sms).full_login().client


def write_file(path: Path, size: int) -> Path:
    """``size`` bytes of varied content (not one repeated byte: nothing may compress it)."""
    block = bytes(range(256)) * (CHUNK // 256)
    with open(path, "wb") as out:
        for offset in range(0, size, CHUNK):
            out.write(block[: min(CHUNK, size - offset)])
    return path


def chunks_of(path: Path):
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def publish_from_store(system, path: Path, name: str) -> str:
    """Publish ``path`` as a file of COMMUNITY the way the ingest API ends: the bytes
    into the blob store, then ``files.publish_file``.  Returns the file id."""
    blob = open_blob_store(system.settings.blob_store).put(chunks_of(path))
    with RpcClient(system.amqp_uri, timeout=600) as rpc:
        published = rpc.call("files", "publish_file", community_id=COMMUNITY, blob_key=blob.key, name=name,
                             size=blob.size, sha256=blob.sha256)
    return published["id"]


def read_all(base_url: str, path: str, *, method="GET", body: bytes | None = None, headers=None) -> tuple[int, float]:
    """(bytes read, seconds): one request, the body read into a reused buffer."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    buffer = memoryview(bytearray(CHUNK))
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    assert response.status == 200, (response.status, response.read(500))
    total = 0
    while read := response.readinto(buffer):
        total += read
    seconds = time.perf_counter() - started
    connection.close()
    return total, seconds


def download(client: PortalClient, *file_ids: str) -> tuple[int, float]:
    """POST /files/download as the browser's form does, with the session's cookies."""
    client.get("/files")  # the page's CSRF token
    body = urlencode([("csrf_token", client.csrf_token), *(("file", file_id) for file_id in file_ids)]).encode()
    cookies = "; ".join(f"{name}={value}" for name, value in client.http.cookies.items())
    return read_all(client.base_url, "/files/download", method="POST", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies})


def rate(size: int, seconds: float) -> str:
    return f"{size / MiB / seconds:,.0f} MiB/s"
