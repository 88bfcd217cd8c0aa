"""energiepost audit: auth's trail (logins, codes, passwords, the operator's actions)
and files' (downloads, deletions, retractions), merged in time order."""
from __future__ import annotations

from cli import output
from cli.registry import arg, command
from cli.runtime import rpc, warn
from cli.types import positive_int, since

FIELDS = ["at", "source", "kind", "login", "community_id", "file_id", "file_name", "client_ip", "detail"]


@command("audit", help="logins, failures, locks, codes, password changes, downloads, deletions, retractions",
         description="The audit trail of auth (logins, failures, locks, code sends, password changes, the "
                     "operator's actions) and files (downloads: who, when, which file; deletions; retractions), "
                     "oldest first.",
         example="energiepost audit --community zonnedelen-gent --since 2026-11-01 --format csv > audit.csv",
         args=[arg("--community", metavar="ID", help="only this community's (its manager's events too)"),
               arg("--since", type=since, metavar="DATE",
                   help="only events since this date (Brussels) or moment, e.g. 2026-11-01"),
               arg("--format", choices=("table", "csv", "json"), default="table",
                   help="table (default), csv (one header line, ISO times) or json (same as --json)"),
               arg("--limit", type=positive_int, default=1000,
                   help="at most this many, the newest (default 1000, at most 10000)")])
def audit(args) -> None:
    query = {"community_id": args.community, "since": args.since, "limit": args.limit}
    found = [rpc("auth", "list_audit_events", **query), rpc("files", "list_audit_events", **query)]
    events = sorted((event for part in found for event in part["events"]), key=lambda e: e["at"])
    if any(part["truncated"] for part in found) or len(events) > args.limit:
        warn(f"only the newest {args.limit} events are shown; narrow with --since or raise --limit")
    events = [{key: event.get(key) for key in FIELDS} for event in events[-args.limit:]]
    if output.wants_json(args) or args.format == "json":
        output.print_json(events)
    elif args.format == "csv":
        output.print_csv(FIELDS, [[event[key] for key in FIELDS] for event in events])
    else:
        table(events)


def table(events: list[dict]) -> None:
    if not events:
        print("no events")
        return
    output.table(["WHEN", "KIND", "WHO", "COMMUNITY", "FILE", "ADDRESS", "DETAIL"],
                 [[output.when(e["at"]), e["kind"], e["login"] or output.EMPTY, e["community_id"] or output.EMPTY,
                   e["file_name"] or output.EMPTY, e["client_ip"] or output.EMPTY, e["detail"] or output.EMPTY]
                  for e in events])
