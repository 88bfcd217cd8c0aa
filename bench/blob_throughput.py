"""Ingest and download through the whole system: the filesystem store against S3.

For each backend, in one run: `make run` on a fresh vhost (S3: a fresh bucket on
moto's S3 server, a subprocess on loopback), a file of SIZE MiB (default 1024)
published with the CLI — streamed through the gateway into a staged blob, measured
and adopted by files — then downloaded through the portal.  Prints MiB/s for both
and the peak RSS (VmHWM) of the gateway and files processes; S3's ratio is against
the filesystem measured in the same run.  moto keeps objects in memory and in its
temp dir: its numbers are a floor for a real S3 server, not a prediction.

    .venv/bin/python -m bench.blob_throughput [SIZE_MIB]
"""
from __future__ import annotations

import shared  # noqa: F401  (first: silences eventlet's import banner)

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.blobstores import S3Server
from tests.support.launch import cli, fresh_vhost, running, system_environment
from tests.support.portal import PortalSystem
from tests.support.sinks import Written

MiB = 1024 * 1024


def descendants(pid: int) -> list[int]:
    found = []
    for child in map(int, subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()):
        found += [child, *descendants(child)]
    return found


def peak_rss_mib(root: int, service: str) -> float:
    """The largest VmHWM among the processes under ``root`` (`make run`) running ``service``."""
    peaks = [0]
    for pid in descendants(root):
        proc = Path(f"/proc/{pid}")
        if f"services.{service}.service" in (proc / "cmdline").read_bytes().decode(errors="replace"):
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]))
    return max(peaks) / 1024


def measure(backend: str, size_mib: int, work: Path, s3: S3Server | None) -> dict:
    with fresh_vhost() as amqp_uri:
        env = system_environment(amqp_uri, work / backend / "var")
        if s3:
            env.update(s3.new_bucket())
        document = work / "correcties.csv"
        with running(env) as system:
            assert cli(env, "community", "add", "zonnedelen-gent", "--name", "Zonnedelen Gent",
                       "--email", "beheer@example.be", "--gsm", "0470 12 34 56").returncode == 0
            started = time.perf_counter()
            published = subprocess.run([str(Path(sys.executable).parent / "energiepost"), "publish",
                                        "zonnedelen-gent", str(document)], env=env, capture_output=True, text=True)
            ingest_seconds = time.perf_counter() - started
            assert published.returncode == 0, published.stderr
            file_id = published.stdout.strip().splitlines()[-1]

            written = Written(Path(env["DATA_DIR"]))
            client = PortalSystem({"PUBLIC_BASE_URL": env["PUBLIC_BASE_URL"]}, written.mail, written.sms) \
                .full_login(publish=False).client
            started = time.perf_counter()
            response = client.download(file_id, stream=True)
            received = sum(len(chunk) for chunk in response.iter_content(MiB))
            download_seconds = time.perf_counter() - started
            assert response.status_code == 200 and received == size_mib * MiB
            return {"ingest": size_mib / ingest_seconds, "download": size_mib / download_seconds,
                    "gateway_rss": peak_rss_mib(system.pid, "gateway"), "files_rss": peak_rss_mib(system.pid, "files")}


def main(size_mib: int = 1024) -> list[tuple[str, str, str, str]]:
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        block = bytes(range(256)) * 4096  # 1 MiB
        with open(work / "correcties.csv", "wb") as handle:
            for _ in range(size_mib):
                handle.write(block)
        s3 = S3Server(work / "s3")
        try:
            results = {"file": measure("file", size_mib, work, None), "s3": measure("s3", size_mib, work, s3)}
        finally:
            s3.stop()
    rows = []
    for what in ("ingest", "download"):
        base = results["file"][what]
        for backend, result in results.items():
            ratio = "baseline" if backend == "file" else f"{result[what] / base:.2f}x"
            rows.append((f"{what} {size_mib} MiB, {backend}", f"{result[what]:.0f} MiB/s", ratio, ""))
    for backend, result in results.items():
        rows.append((f"peak RSS gateway / files, {backend}",
                     f"{result['gateway_rss']:.0f} / {result['files_rss']:.0f} MiB", "", "flat: not ~size"))
    return rows


if __name__ == "__main__":
    for row in main(int(sys.argv[1]) if len(sys.argv) > 1 else 1024):
        print("  ".join(cell for cell in row if cell))
