"""energiepost deliveries [retry]: every e-mail and SMS, and sending one again."""
from __future__ import annotations

from cli import output
from cli.registry import arg, command
from cli.runtime import rpc, warn
from cli.types import positive_int, since

KINDS = ("file_published", "files_expiring", "credentials_reissued", "password_reset_requested", "sms_code_requested")


@command("deliveries", help="e-mails and SMS: status, attempts, last error, when sent",
         description="E-mails and SMS, oldest first: status (pending, failing = retrying after a failure, sent, "
                     "undeliverable), attempts, last error and when sent. Never a message's content.",
         example="energiepost deliveries --community zonnedelen-gent --failed --since 2026-11-01",
         args=[arg("--community", metavar="ID", help="only this community's, e.g. zonnedelen-gent"),
               arg("--failed", action="store_true", help="only those that failed: undeliverable or failing"),
               arg("--kind", choices=KINDS, help="only this kind, e.g. file_published"),
               arg("--since", type=since, metavar="DATE",
                   help="only those recorded since this date (Brussels) or moment, e.g. 2026-11-01"),
               arg("--limit", type=positive_int, default=1000,
                   help="at most this many, the newest (default 1000, at most 10000)")])
def deliveries_list(args) -> None:
    found = rpc("notify", "list_deliveries", community_id=args.community, failed=args.failed, kind=args.kind,
                since=args.since, limit=args.limit)
    if found["truncated"]:
        warn(f"only the newest {args.limit} are shown; narrow with --since or raise --limit")
    output.emit(args, found["deliveries"], table)


@command("deliveries retry", help="send a failed or undeliverable e-mail or SMS again now",
         example="energiepost deliveries retry 42",
         args=[arg("delivery_id", metavar="ID", type=positive_int, help="the delivery's id (see `deliveries`)")])
def deliveries_retry(args) -> None:
    delivery = rpc("notify", "retry_delivery", delivery_id=args.delivery_id)
    output.emit(args, delivery, lambda d: print(f"delivery {d['id']} ({d['kind']}) is due again; "
                                                f"see it with: energiepost deliveries --kind {d['kind']}"))


def table(deliveries: list[dict]) -> None:
    if not deliveries:
        print("no deliveries")
        return
    output.table(
        ["ID", "KIND", "COMMUNITY", "RECIPIENT", "STATUS", "ATTEMPTS", "LAST ERROR", "RECORDED", "SENT"],
        [[d["id"], d["kind"], d["community_id"] or output.EMPTY, d["recipient"] or output.EMPTY, d["status"],
          d["attempts"], d["last_error"] or output.EMPTY, output.when(d["created_at"]), output.when(d["sent_at"])]
         for d in deliveries])
