"""energiepost files …: a community's files and what became of each."""
from __future__ import annotations

import getpass

from cli import output
from cli.registry import arg, command, group
from cli.runtime import rpc, warn
from cli.types import iso_date
from shared.listing import MAX_LIMIT

group("files", "a community's files: status, e-mail, downloads; retract or extend one")


@command("files list", help="a community's files with their e-mail, downloads, reminder and status",
         description="A community's files, newest first, deleted and retracted ones included: size, last day, "
                     "whether the e-mail was sent, when downloaded (and how often), when reminded, and the status.",
         example="energiepost files list zonnedelen-gent --bytes",
         args=[arg("community_id", metavar="ID", help="the community's id, e.g. zonnedelen-gent"),
               arg("--bytes", action="store_true", dest="in_bytes",
                   help="sizes in bytes instead of B, kB, MB, GB with a decimal comma")])
def files_list(args) -> None:
    files = rpc("files", "list_files", community_id=args.community_id)
    emails = _emails(args.community_id) if files else {}
    for file in files:
        file["email"] = emails.get(file["id"]) if emails is not None else None
    output.emit(args, files, lambda fs: output.files_table(fs, in_bytes=args.in_bytes))


def _emails(community_id: str) -> dict | None:
    """Each file's e-mail (the delivery of its ``file_published``), by file id; ``None``
    when notify cannot tell now (the list is still worth showing)."""
    try:
        found = rpc("notify", "list_deliveries", community_id=community_id, kind="file_published", limit=MAX_LIMIT)
    except Exception as exc:  # noqa: BLE001 - whatever failed: the files without their e-mail
        warn(f"e-mail status unknown: {exc}")
        return None
    return {d["file_id"]: {k: d[k] for k in ("id", "status", "attempts", "sent_at", "last_error")}
            for d in found["deliveries"] if d["file_id"]}


FILE_ID = arg("file_id", metavar="FILE_ID", help="the file's id (energiepost files list shows it)")


@command("files retract", help="take back a mis-sent file: deleted for good, the manager gets an e-mail",
         description="The operator takes back a file: it is deleted at once (reason operator), its e-mail link "
                     "answers 410 saying Fluvius withdrew it, and the manager gets a short e-mail.",
         example="energiepost files retract 6f1c2a9e-4b7d-4e0a-9f3e-2d8b1c5a7e10 --reason 'sent to the wrong community'",
         args=[FILE_ID, arg("--reason", required=True, help="why (kept in the audit trail, not sent to the manager)")])
def files_retract(args) -> None:
    file = rpc("files", "retract_file", file_id=args.file_id, reason=args.reason, actor=operator_name())
    output.emit(args, file, output.retracted)


@command("files extend", help="keep a file available longer (at most MAX_EXTEND_DAYS past its normal last day)",
         description="A new last day for a file (shown in the portal); a reminder comes again before it.",
         example="energiepost files extend 6f1c2a9e-4b7d-4e0a-9f3e-2d8b1c5a7e10 --until 2026-12-31",
         args=[FILE_ID, arg("--until", required=True, metavar="YYYY-MM-DD", type=iso_date,
                            help="the new last day (Europe/Brussels)")])
def files_extend(args) -> None:
    file = rpc("files", "extend_file", file_id=args.file_id, until=args.until, actor=operator_name())
    output.emit(args, file, output.extended)


def operator_name() -> str:
    """Who is at the keyboard, for the audit trail."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"
