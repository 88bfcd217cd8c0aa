"""energiepost community …: register, change, list, resend credentials, remove, unlock."""
from __future__ import annotations

import sys

from cli import output
from cli.registry import arg, command, group
from cli.runtime import USAGE, CliError, rpc

group("community", "register, change and remove communities; resend a manager's credentials")

COMMUNITY_ID = arg("community_id", metavar="ID", help="the community's id, e.g. zonnedelen-gent")


@command("community add", help="register a community and its manager",
         example='energiepost community add zonnedelen-gent --name "Zonnedelen Gent" '
                 '--email beheer@example.be --gsm "0470 12 34 56"',
         args=[COMMUNITY_ID,
               arg("--name", required=True, help="the community's name, as e-mails and the portal show it"),
               arg("--email", required=True, help="the manager's e-mail address (also their login)"),
               arg("--gsm", required=True, help="the manager's mobile number, any Belgian notation, "
                                                "e.g. '0470 12 34 56'")])
def community_add(args) -> None:
    community = rpc("auth", "add_community", community_id=args.community_id, name=args.name,
                    email=args.email, gsm=args.gsm)
    output.emit(args, community, lambda c: (print(f"community {c['id']} added"), output.community_details(c)))


@command("community update", help="change a community's contact details (ends the manager's sessions)",
         example="energiepost community update zonnedelen-gent --gsm '0471 98 76 54'",
         args=[COMMUNITY_ID,
               arg("--email", help="the manager's new e-mail address (and login)"),
               arg("--gsm", help="the manager's new mobile number, e.g. '0471 98 76 54'"),
               arg("--name", help="the community's new name")])
def community_update(args) -> None:
    community = rpc("auth", "update_community", community_id=args.community_id, email=args.email,
                    gsm=args.gsm, name=args.name)
    output.emit(args, community, lambda c: (print(f"community {c['id']} updated"), output.community_details(c)))


@command("community list", help="list communities", example="energiepost community list --json")
def community_list(args) -> None:
    output.emit(args, rpc("auth", "list_communities"), output.communities_table)


@command("community resend-credentials",
         help="a new initial password in a new first e-mail (the old password stops working at once)",
         description="Send the manager a new first e-mail with a new initial password; the old initial "
                     "password stops working at once. Refused while the manager has chosen an own password, "
                     "unless --reset, which voids it and ends their sessions.",
         example="energiepost community resend-credentials zonnedelen-gent --reset",
         args=[COMMUNITY_ID,
               arg("--reset", action="store_true",
                   help="also when the manager has an own password: void it and end their sessions")])
def community_resend_credentials(args) -> None:
    resent = rpc("auth", "resend_credentials", community_id=args.community_id, reset=args.reset)

    def show(r):
        if r["password_reset"]:
            print(f"the own password of {r['email']} is void and their sessions ended")
        print(f"new credentials for {r['community_id']} are on their way to {r['email']}")
        print("follow the e-mail with: energiepost deliveries --community " + r["community_id"])

    output.emit(args, resent, show)


@command("community remove", help="remove a community: its files, and its manager's account if it was their only one",
         description="Remove a community for good: its files are deleted (and their links answer 410), its "
                     "manager's account ends unless they manage another community. Audited. Asks for the "
                     "community's id to confirm, unless --yes.",
         example="energiepost community remove zonnedelen-gent --yes",
         args=[COMMUNITY_ID,
               arg("--yes", action="store_true", help="do not ask for confirmation (for scripts)")])
def community_remove(args) -> None:
    if not args.yes:
        confirm(f"Remove community {args.community_id}, its files and (if it is their only one) its "
                f"manager's account? Type its id to confirm: ", expected=args.community_id)
    removed = rpc("auth", "remove_community", community_id=args.community_id)

    def show(r):
        print(f"community {r['community_id']} removed; its files are being deleted")
        if r["account_removed"]:
            print("its manager's account is removed too")

    output.emit(args, removed, show)


@command("community unlock", help="lift the lockout of a community's manager after too many failed logins",
         description="Lift every lock of the community's manager (unknown devices and trusted devices) and reset "
                     "the consecutive-failure counts. A used password-reset link does the same. Audited.",
         example="energiepost community unlock zonnedelen-gent",
         args=[COMMUNITY_ID])
def community_unlock(args) -> None:
    unlocked = rpc("auth", "unlock_manager", community_id=args.community_id)

    def show(r):
        if r["unlocked"]:
            print(f"community {r['community_id']}: logins of {r['login']} unlocked "
                  f"({r['unlocked']} lock{'s' if r['unlocked'] != 1 else ''} lifted, failures reset)")
        else:
            print(f"community {r['community_id']}: {r['login']} was not locked (failures reset)")

    output.emit(args, unlocked, show)


def confirm(question: str, *, expected: str) -> None:
    if not sys.stdin.isatty():
        raise CliError("not confirmed: no terminal to ask on; add --yes", USAGE)
    try:
        answer = input(question)
    except EOFError:
        answer = ""
    if answer.strip() != expected:
        raise CliError("not confirmed; nothing was changed", USAGE)
