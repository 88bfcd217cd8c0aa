"""energiepost — the operator's command line.

An RPC client of the running system (communities, file lists) and an HTTP client
of its ingest API (publishing).  With `make run`'s development defaults it finds
the broker and the ingest key by itself; in production set AMQP_URI,
ENERGIEPOST_API_URL and ENERGIEPOST_INGEST_KEY.
"""
from __future__ import annotations

import argparse
import getpass
import logging
import sys
from datetime import date
from pathlib import Path

import requests

from cli import output
from cli.upload import ProgressBar, check_local_file, upload_body
from shared.errors import DomainError
from shared.rpc import RpcClient
from cli.settings import CliSettings
from shared.settings import ConfigurationError, mask_password


class CliError(Exception):
    """A failure to report in one line, with an exit status."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


_settings: CliSettings | None = None


def settings() -> CliSettings:
    """The settings this run of the CLI read (``main`` reads them, and reports a bad value,
    before any command runs)."""
    return _settings


def ingest_key() -> str:
    try:
        return settings().require_ingest_key()
    except ConfigurationError as exc:
        raise CliError(str(exc), 2) from None


def rpc(service: str, method: str, **kwargs):
    try:
        with RpcClient(settings().amqp_uri, timeout=settings().rpc_timeout) as client:
            return client.call(service, method, **kwargs)
    except (ConnectionError, OSError) as exc:
        raise CliError(f"cannot reach RabbitMQ at {mask_password(settings().amqp_uri)} ({exc}); "
                       "is the system running?") from None


# --- commands ----------------------------------------------------------------------------

def community_add(args) -> None:
    community = rpc("auth", "add_community", community_id=args.community_id, name=args.name,
                    email=args.email, gsm=args.gsm)
    print(f"community {community['id']} added")
    output.community_details(community)


def community_update(args) -> None:
    community = rpc("auth", "update_community", community_id=args.community_id, email=args.email,
                    gsm=args.gsm, name=args.name)
    print(f"community {community['id']} updated")
    output.community_details(community)


def community_list(_args) -> None:
    output.communities_table(rpc("auth", "list_communities"))


def publish(args) -> None:
    path = Path(args.file)
    problem = check_local_file(path)
    if problem:
        raise CliError(problem)
    url = f"{settings().api_url}/api/v1/communities/{args.community_id}/files"
    with path.open("rb") as handle:
        body = upload_body(handle, path.name, {"kind": args.kind, "shared_by": args.shared_by},
                           ProgressBar(f"uploading {path.name}"))
        try:
            response = requests.post(
                url, data=body, timeout=(10, 600),
                headers={"Authorization": f"Bearer {ingest_key()}", "Content-Type": body.content_type},
            )
        except requests.ConnectionError as exc:
            raise CliError(
                f"the upload to {settings().api_url} failed ({type(exc).__name__}); is the system running? "
                "(a very large file may also have been refused before it was sent)"
            ) from None
    if response.status_code != 201:
        raise CliError(f"publish refused ({response.status_code}): {output.api_error(response)}")
    file = response.json()
    output.published(file, args.kind)
    print(file["id"])


def files_list(args) -> None:
    output.files_table(rpc("files", "list_files", community_id=args.community_id))


def files_retract(args) -> None:
    file = rpc("files", "retract_file", file_id=args.file_id, reason=args.reason, actor=operator_name())
    output.retracted(file)


def files_extend(args) -> None:
    file = rpc("files", "extend_file", file_id=args.file_id, until=args.until, actor=operator_name())
    output.extended(file)


def operator_name() -> str:
    """Who is at the keyboard, for the audit trail."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def retention_run(args) -> None:
    fired = rpc("files", "fire_retention", run_date=args.today)
    print(f"retention run fired for {fired['run_date']}")


# --- wiring ------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="energiepost", description="Operate energiepost: communities and files.")
    groups = top.add_subparsers(dest="group", required=True, metavar="COMMAND")

    community = groups.add_parser("community", help="register and change communities").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    add = community.add_parser("add", help="register a community and its manager")
    add.add_argument("community_id")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True, help="the manager's e-mail address (also their login)")
    add.add_argument("--gsm", required=True, help="the manager's mobile number, e.g. '0470 12 34 56'")
    add.set_defaults(handler=community_add)
    update = community.add_parser("update", help="change a community's contact details")
    update.add_argument("community_id")
    update.add_argument("--email")
    update.add_argument("--gsm")
    update.add_argument("--name")
    update.set_defaults(handler=community_update)
    community.add_parser("list", help="list communities").set_defaults(handler=community_list)

    pub = groups.add_parser("publish", help="publish a file for a community (prints its id last)")
    pub.add_argument("community_id")
    pub.add_argument("file")
    pub.add_argument("--kind", choices=("periodic", "adhoc"), default="periodic",
                     help="periodic: periodiek bestand (default); adhoc: ad-hoc communicatie")
    pub.add_argument("--shared-by", dest="shared_by")
    pub.set_defaults(handler=publish)

    files = groups.add_parser("files", help="list, retract or extend files").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    listing = files.add_parser("list", help="a community's files, deleted ones included")
    listing.add_argument("community_id")
    listing.set_defaults(handler=files_list)
    retract = files.add_parser(
        "retract", help="take back a mis-sent file: deleted for good, the manager gets an e-mail",
        epilog="example: energiepost files retract 6f1c2a9e-4b7d-4e0a-9f3e-2d8b1c5a7e10 --reason 'sent to the wrong community'")
    retract.add_argument("file_id", help="the file's id (energiepost files list shows it)")
    retract.add_argument("--reason", required=True, help="why (kept in the audit trail, not sent to the manager)")
    retract.set_defaults(handler=files_retract)
    extend = files.add_parser(
        "extend", help="keep a file available longer (at most MAX_EXTEND_DAYS past its normal last day)",
        epilog="example: energiepost files extend 6f1c2a9e-4b7d-4e0a-9f3e-2d8b1c5a7e10 --until 2026-12-31")
    extend.add_argument("file_id", help="the file's id (energiepost files list shows it)")
    extend.add_argument("--until", required=True, metavar="YYYY-MM-DD", type=_iso_date,
                        help="the new last day it is available (tot en met)")
    extend.set_defaults(handler=files_extend)

    retention = groups.add_parser("retention", help="the daily retention run").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    run = retention.add_parser("run", help="fire the retention event now (reminders and deletions)")
    run.add_argument("--today", metavar="YYYY-MM-DD", type=_iso_date,
                     help="run as if it were this date (default: today in Europe/Brussels)")
    run.set_defaults(handler=retention_run)
    return top


def _iso_date(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.getLogger("amqp").setLevel(logging.ERROR)  # chatter on closing channels is not for operators
    global _settings
    try:
        _settings = CliSettings.load()
    except ConfigurationError as exc:
        for line in str(exc).splitlines():
            print(f"energiepost: invalid setting: {line}", file=sys.stderr)
        return 2
    try:
        args.handler(args)
    except DomainError as exc:
        print(f"energiepost: {exc.message}", file=sys.stderr)
        return 1
    except CliError as exc:
        print(f"energiepost: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("energiepost: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
