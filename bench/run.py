"""`make bench [ONLY=name,name]`: run the benchmarks, print one table, keep the results.

Each benchmark module has a ``main()`` returning rows ``(what, measured, baseline,
ratio, target)``, the baseline measured in the same run (the older four-cell rows
``(what, measured, ratio, target)`` have the baseline in a row of their own).
The table of each benchmark that ran replaces its section in bench/RESULTS.md,
with the date and the machine.
"""
from __future__ import annotations

import shared  # noqa: F401  (first: silences eventlet's import banner)

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

from bench import (
    download, download_memory, fanout, file_list, ingest, logins, publish, retention_cost, rpc, zip_download,
)

BENCHMARKS = {
    "fanout": fanout,
    "download": download,
    "zip": zip_download,
    "ingest": ingest,
    "list": file_list,
    "retention": retention_cost,
    "zipmemory": download_memory,
    "rpc": rpc,
    "publish": publish,
    "logins": logins,
}
RESULTS = Path(__file__).parent / "RESULTS.md"
HEADER = ("benchmark", "measured", "baseline (same run)", "ratio", "target")
INTRO = """# Benchmark results

`make bench` (or `make bench ONLY=fanout,rpc`) replaces a benchmark's section below each time it runs.
Every ratio is against a baseline measured in the same run, on the machine named in the section.
"""


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return (f"{cpu}, {os.cpu_count()} cores, {memory / 1024**2:.1f} GiB RAM, "
            f"Linux {platform.release()}, Python {platform.python_version()}")


def cells(row: tuple[str, ...]) -> tuple[str, ...]:
    return row if len(row) == 5 else (row[0], row[1], "", row[2], row[3])


def table(rows: list[tuple[str, ...]]) -> list[str]:
    lines = [HEADER, *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    return [text[0], "  ".join("-" * width for width in widths), *text[1:]]


def markdown(rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * 5]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def record(name: str, rows: list[tuple[str, ...]], when: str, where: str) -> None:
    """Replace (or add) the section ``## name`` of RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else INTRO
    section = f"## {name}\n\n{when} — {where}\n\n{markdown(rows)}\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    RESULTS.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description="Run the benchmarks.")
    parser.add_argument("only", nargs="?", default="",
                        help=f"comma-separated names among: {', '.join(BENCHMARKS)} (default: all)")
    chosen = [name.strip() for name in parser.parse_args(argv).only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"make bench: unknown benchmark(s) {', '.join(unknown)}; choose among {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    where = machine()
    print(where, flush=True)
    everything = []
    for name in chosen:
        print(f"\n{name}: running ...", flush=True)
        when = time.strftime("%Y-%m-%d %H:%M %Z")
        rows = BENCHMARKS[name].main()
        print("\n".join(table(rows)), flush=True)
        record(name, rows, when, where)
        everything += rows
    if len(chosen) > 1:
        print("\nall:\n" + "\n".join(table(everything)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
