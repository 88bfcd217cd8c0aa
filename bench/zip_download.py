"""Ten 100 MiB files as one zip, streamed while it is built, against one file of the
same total size in the same run; the gateway's peak memory.  Target: < 150 MiB."""
from __future__ import annotations

import tempfile
from pathlib import Path

from bench.portal import download, logged_in_portal, publish_from_store, rate, write_file
from bench.system import MiB, reset_rss_peak, rss_peak_mib, scaled

FILES = 10


def main() -> list[tuple[str, ...]]:
    size = scaled(100 * MiB, minimum=8 * MiB)
    with tempfile.TemporaryDirectory(prefix="energiepost-bench-") as directory:
        part = write_file(Path(directory) / "deel.bin", size)
        whole = write_file(Path(directory) / "geheel.bin", FILES * size)
        with logged_in_portal() as (system, client):
            parts = [publish_from_store(system, part, f"correcties-{n:02d}.csv") for n in range(FILES)]
            single = publish_from_store(system, whole, "correcties.csv")
            (gateway,) = (p for p in system.processes if p.service == "gateway")
            download(client, single)  # warm: both read from the page cache
            reset_rss_peak(gateway.pid)
            zipped_bytes, zipped_seconds = download(client, *parts)
            peak = rss_peak_mib(gateway.pid)
            single_bytes, single_seconds = download(client, single)
    assert single_bytes == FILES * size and zipped_bytes > FILES * size
    return [
        (f"zip of {FILES} x {size / MiB:,.0f} MiB through a portal session", rate(zipped_bytes, zipped_seconds),
         f"one {FILES * size / MiB:,.0f} MiB file {rate(single_bytes, single_seconds)}",
         f"{(zipped_bytes / zipped_seconds) / (single_bytes / single_seconds):.2f}x", "report"),
        (f"zip of {FILES} x {size / MiB:,.0f} MiB: gateway peak memory (RSS)", f"{peak:.0f} MiB", "", "",
         "< 150 MiB"),
    ]
