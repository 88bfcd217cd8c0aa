"""energiepost retention run: the daily retention event, by hand."""
from __future__ import annotations

from cli import output
from cli.registry import arg, command, group
from cli.runtime import rpc
from cli.types import iso_date

group("retention", "the daily retention run")


@command("retention run", help="fire the retention event now (reminders and deletions)",
         example="energiepost retention run --today 2026-12-20",
         args=[arg("--today", metavar="YYYY-MM-DD", type=iso_date,
                   help="run as if it were this date (default: today in Europe/Brussels), e.g. 2026-12-20")])
def retention_run(args) -> None:
    fired = rpc("files", "fire_retention", run_date=args.today)
    output.emit(args, fired, lambda f: print(f"retention run fired for {f['run_date']}"))
