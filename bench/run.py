"""`make bench`: run every benchmark and print one table of measured ratios."""
from __future__ import annotations

import shared  # noqa: F401  (first: silences eventlet's import banner)
from bench import download_memory, retention_cost

BENCHMARKS = (retention_cost, download_memory)


def main() -> None:
    rows = [("benchmark", "measured", "ratio", "target")]
    for benchmark in BENCHMARKS:
        rows += benchmark.main()
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
