"""One 1 GiB file through an authenticated portal session, against the same bytes
from nginx on the same machine; the gateway's peak memory while it streams.
Targets: at least half of nginx's throughput, under 150 MiB."""
from __future__ import annotations

import tempfile
from pathlib import Path

from bench import nginx
from bench.portal import download, logged_in_portal, publish_from_store, rate, read_all, write_file
from bench.system import GiB, MiB, reset_rss_peak, rss_peak_mib, scaled

ROUNDS = 2  # the best of two, each way


def main() -> list[tuple[str, ...]]:
    size = scaled(GiB, minimum=64 * MiB)
    with tempfile.TemporaryDirectory(prefix="energiepost-bench-") as directory:
        source = write_file(Path(directory) / "correcties.bin", size)
        with logged_in_portal() as (system, client), nginx.serving(Path(directory)) as nginx_url:
            file_id = publish_from_store(system, source, "correcties-2026-10.csv")
            (gateway,) = (p for p in system.processes if p.service == "gateway")
            reset_rss_peak(gateway.pid)
            portal, plain = [], []
            for _ in range(ROUNDS):
                plain.append(read_all(nginx_url, "/correcties.bin"))
                portal.append(download(client, file_id))
            peak = rss_peak_mib(gateway.pid)
    assert {read for read, _ in portal + plain} == {size}
    portal_seconds, plain_seconds = min(s for _, s in portal), min(s for _, s in plain)
    label = f"{size / MiB:,.0f} MiB"
    return [
        (f"download {label} through a portal session", rate(size, portal_seconds),
         f"nginx {rate(size, plain_seconds)}", f"{plain_seconds / portal_seconds:.2f}x", ">= 0.5x"),
        (f"download {label}: gateway peak memory (RSS)", f"{peak:.0f} MiB", "", "", "< 150 MiB"),
    ]
