"""1 GiB through the ingest API (multipart, streamed into the blob store, measured
again by files) against `cp` of the same file on the same disk; the gateway's peak
memory for 1 GiB against 16 MiB.  Targets: at least 40 % of cp, memory flat."""
from __future__ import annotations

import http.client
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.portal import COMMUNITY, chunks_of, rate, write_file
from bench.system import GiB, MiB, bench_system, reset_rss_peak, rss_peak_mib, scaled
from tests.support.system import INGEST_KEY, add_community

BOUNDARY = "energiepost-bench-boundary"
ROUNDS = 2


def upload(base_url: str, path: Path) -> float:
    """Seconds for one streamed multipart upload through the ingest API (until its 201)."""
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    started = time.perf_counter()
    connection.request("POST", f"/api/v1/communities/{COMMUNITY}/files", body=_body(head, path, tail), headers={
        "Authorization": f"Bearer {INGEST_KEY}", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(len(head) + path.stat().st_size + len(tail))})
    response = connection.getresponse()
    answer = response.read()
    seconds = time.perf_counter() - started
    connection.close()
    assert response.status == 201, (response.status, answer[:300])
    return seconds


def _body(head: bytes, path: Path, tail: bytes):
    yield head
    yield from chunks_of(path)
    yield tail


def copy(source: Path, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


def main() -> list[tuple[str, ...]]:
    size = scaled(GiB, minimum=64 * MiB)
    with bench_system() as system:
        for service in ("auth", "files", "gateway"):
            system.start(service)
        add_community({"AMQP_URI": system.amqp_uri}, community_id=COMMUNITY)
        (gateway,) = (p for p in system.processes if p.service == "gateway")
        with tempfile.TemporaryDirectory(prefix="energiepost-bench-", dir=system.directory) as directory:
            small = write_file(Path(directory) / "klein", 16 * MiB)
            large = write_file(Path(directory) / "groot", size)
            upload(system.base_url, small)  # warm up
            reset_rss_peak(gateway.pid)
            upload(system.base_url, small)
            small_peak = rss_peak_mib(gateway.pid)
            copied, uploaded = [], []
            reset_rss_peak(gateway.pid)
            for _ in range(ROUNDS):
                copied.append(copy(large, Path(directory) / "kopie"))
                uploaded.append(upload(system.base_url, large))
            large_peak = rss_peak_mib(gateway.pid)
    label = f"{size / MiB:,.0f} MiB"
    return [
        (f"ingest {label} through the API", rate(size, min(uploaded)), f"cp {rate(size, min(copied))}",
         f"{min(copied) / min(uploaded):.2f}x", ">= 0.4x"),
        (f"ingest {label}: gateway peak memory (RSS)", f"{large_peak:.0f} MiB", f"16 MiB: {small_peak:.0f} MiB",
         f"{large_peak / small_peak:.2f}x", "flat (~1x)"),
    ]
