"""How the CLI prints things: short confirmations and aligned tables."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.formatting import date_nl, kind_nl, last_day_nl, size_nl

DELETION_REASONS = {"retention": "retention period ended", "manager": "deleted by the manager",
                    "operator": "retracted by the operator"}


def table(headers: list[str], rows: list[list[str]]) -> None:
    if not rows:
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    for line in [headers, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())


def community_details(community: dict) -> None:
    print(f"  name:  {community['name']}")
    print(f"  email: {community['email']}")
    print(f"  gsm:   {community['gsm']}")


def communities_table(communities: list[dict]) -> None:
    if not communities:
        print("no communities yet")
        return
    table(["ID", "NAME", "E-MAIL", "GSM"], [[c["id"], c["name"], c["email"], c["gsm"]] for c in communities])


def files_table(files: list[dict], now: datetime | None = None) -> None:
    if not files:
        print("no files")
        return
    now = now or datetime.now(timezone.utc)
    rows = []
    for f in files:
        if f["deleted_at"]:
            reason = DELETION_REASONS.get(f["deleted_reason"], f["deleted_reason"] or "")
            status = f"verwijderd {date_nl(f['deleted_at'])} ({reason})"
        elif datetime.fromisoformat(f["expires_at"]) <= now:
            status = "expired (unreachable; the next retention run removes it)"
        elif f["first_downloaded_at"]:
            status = f"downloaded {date_nl(f['first_downloaded_at'])}"
        else:
            status = "new"
        rows.append([f["id"], f["name"], kind_nl(f["kind"]), size_nl(f["size"]), date_nl(f["published_at"]),
                     last_day_nl(f["expires_at"]), status])
    table(["ID", "NAME", "KIND", "SIZE", "PUBLISHED", "AVAILABLE THROUGH", "STATUS"], rows)


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
