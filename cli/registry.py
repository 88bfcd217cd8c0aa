"""Commands register themselves; ``build_parser`` turns the registry into argparse.

Adding a command is one decorated function in the module of its group
(``cli/commands/<group>.py``)::

    @command("files retract", help="take back a mis-sent file",
             example="energiepost files retract 3f2b… --reason 'verkeerde gemeenschap'",
             args=[arg("file_id", metavar="FILE_ID", help="the file's id (see `files list`)"),
                   arg("--reason", required=True, help="why, for the manager's e-mail")])
    def files_retract(args):
        retracted = rpc("files", "retract_file", file_id=args.file_id, reason=args.reason)
        emit(args, retracted, lambda r: print(f"file {r['id']} retracted"))

``"files retract"`` is the command line's words: ``"audit"`` a command of its own,
``"deliveries"`` plus ``"deliveries retry"`` a command with sub-commands.  Every
argument needs a ``help``, every command an ``example``; each gets ``--json``.
A new module goes in ``cli.commands.MODULES``.
"""
from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass, field
from typing import Callable

GROUPS: dict[str, str] = {}  # group word -> its help
COMMANDS: dict[tuple[str, ...], "Command"] = {}


@dataclass(frozen=True)
class Arg:
    flags: tuple[str, ...]
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    handler: Callable
    help: str
    example: str
    args: tuple[Arg, ...]
    description: str | None = None


def arg(*flags: str, **options) -> Arg:
    if not options.get("help"):
        raise ValueError(f"argument {flags} needs a help text")
    return Arg(flags, options)


def group(word: str, help: str) -> None:
    GROUPS[word] = help


def command(words: str, *, help: str, example: str, args=(), description: str | None = None):
    key = tuple(words.split())
    if not 1 <= len(key) <= 2:
        raise ValueError(f"a command is one or two words, not {words!r}")

    def register(handler):
        if key in COMMANDS:
            raise ValueError(f"command {words!r} registered twice")
        COMMANDS[key] = Command(key, handler, help, example, tuple(args), description)
        return handler

    return register


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32)


def _add_leaf(parser: argparse.ArgumentParser, command: Command) -> None:
    for item in command.args:
        parser.add_argument(*item.flags, **item.options)
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON for scripts instead of a table (shapes in README)")
    parser.set_defaults(handler=command.handler)


def _described(text: str) -> str:
    return textwrap.fill(text, 100)


def _epilog(command: Command) -> str:
    return f"example:\n  {command.example}"


def build_parser(top: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Every registered command under ``top``."""
    words = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    firsts = list(dict.fromkeys(key[0] for key in COMMANDS))
    for first in firsts:
        own = COMMANDS.get((first,))
        subs = [c for key, c in COMMANDS.items() if len(key) == 2 and key[0] == first]
        help_text = GROUPS.get(first) or (own.help if own else first)
        parser = words.add_parser(
            first, help=help_text, description=_described((own.description or own.help) if own else help_text),
            epilog=_epilog(own) if own else None, formatter_class=_Formatter)
        if own:
            _add_leaf(parser, own)
        if subs:
            actions = parser.add_subparsers(dest="action", required=own is None, metavar="ACTION")
            for sub in subs:
                leaf = actions.add_parser(sub.words[1], help=sub.help, description=_described(sub.description or sub.help),
                                          epilog=_epilog(sub), formatter_class=_Formatter)
                _add_leaf(leaf, sub)
    return top
