"""How the CLI prints things: short confirmations, aligned tables, JSON for scripts.

Tables and progress use the managers' (Dutch) notation: sizes with a decimal comma
(``shared.formatting.size_nl``), dates day-month-year in Brussels time."""
from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, timezone

from shared.formatting import date_nl, datetime_nl, kind_nl, last_day_nl, size_nl

DELETION_REASONS = {"retention": "retention period ended", "manager": "deleted by the manager",
                    "operator": "retracted by the operator"}
REMOVED_WITH_COMMUNITY = "community removed"  # deleted_by of the files of a removed community (reason operator)
EMPTY = "-"


def wants_json(args) -> bool:
    return getattr(args, "json", False)


def emit(args, data, render) -> None:
    """``data`` as JSON with ``--json``, else ``render(data)`` for people."""
    if wants_json(args):
        print_json(data)
    else:
        render(data)


def print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def print_csv(headers: list[str], rows: list[list]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)


def table(headers: list[str], rows: list[list[str]]) -> None:
    if not rows:
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    for line in [headers, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())


def when(moment: str | None) -> str:
    return datetime_nl(moment) if moment else EMPTY


def community_details(community: dict) -> None:
    print(f"  name:  {community['name']}")
    print(f"  email: {community['email']}")
    print(f"  gsm:   {community['gsm']}")


def communities_table(communities: list[dict]) -> None:
    if not communities:
        print("no communities yet")
        return
    table(["ID", "NAME", "E-MAIL", "GSM"], [[c["id"], c["name"], c["email"], c["gsm"]] for c in communities])


def file_status(f: dict, now: datetime) -> str:
    if f["deleted_at"]:
        removed = f.get("deleted_by") == REMOVED_WITH_COMMUNITY
        if f["deleted_reason"] == "operator" and not removed:
            return f"teruggetrokken {date_nl(f['deleted_at'])}"
        reason = REMOVED_WITH_COMMUNITY if removed else DELETION_REASONS.get(f["deleted_reason"], f["deleted_reason"] or "")
        return f"verwijderd {date_nl(f['deleted_at'])} ({reason})"
    if datetime.fromisoformat(f["expires_at"]) <= now:
        return "expired (unreachable; the next retention run removes it)"
    if f.get("first_downloaded_at"):
        return "downloaded"
    return "new"


def email_status(email: dict | None) -> str:
    """The file's e-mail (notify's delivery of its ``file_published``)."""
    if email is None:
        return EMPTY
    if email["status"] == "sent":
        return f"sent {when(email['sent_at'])}"
    if email["status"] == "failing":
        return f"failing ({email['attempts']}x)"
    return email["status"]


def downloads(f: dict) -> str:
    if not f.get("first_downloaded_at"):
        return EMPTY
    count = f.get("downloads") or 1
    first = when(f["first_downloaded_at"])
    return first if count == 1 else f"{first} ({count}x, last {when(f.get('last_downloaded_at'))})"


def files_table(files: list[dict], now: datetime | None = None, *, in_bytes: bool = False) -> None:
    if not files:
        print("no files")
        return
    now = now or datetime.now(timezone.utc)
    rows = []
    for f in files:
        size = str(f["size"]) if in_bytes else size_nl(f["size"])
        rows.append([f["id"], f["name"], kind_nl(f["kind"]), size, date_nl(f["published_at"]),
                     last_day_nl(f["expires_at"]), email_status(f.get("email")), downloads(f),
                     date_nl(f["reminded_at"]) if f.get("reminded_at") else EMPTY, file_status(f, now)])
    table(["ID", "NAME", "KIND", "SIZE", "PUBLISHED", "AVAILABLE THROUGH", "E-MAILED", "DOWNLOADED", "REMINDED",
           "STATUS"], rows)


def published(file: dict, kind: str) -> None:
    print(f"published {file['name']} ({kind_nl(kind)}, {size_nl(file['size'])}, sha256 {file['sha256']})")
    print(f"available through {last_day_nl(file['expires_at'])}")


def retracted(file: dict) -> None:
    print(f"file {file['id']} ({file['name']}) retracted; the manager of {file['community_id']} gets an e-mail")


def extended(file: dict) -> None:
    print(f"file {file['id']} ({file['name']}) is available through {last_day_nl(file['expires_at'])}")


def api_error(response) -> str:
    try:
        body = response.json()
        return body.get("message") or body.get("error") or response.reason
    except ValueError:
        return response.reason or "unexpected answer"
