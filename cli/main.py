"""energiepost — the operator's command line.

An RPC client of the running system and an HTTP client of its ingest API
(publishing).  The commands live in ``cli/commands/`` (one module per group,
registered with ``cli.registry.command``); this module builds the parser, reads the
settings and turns every expected failure into one line and an exit status.
"""
from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import PackageNotFoundError, version

from cli import commands, registry, runtime
from cli.settings import DESCRIPTIONS, CliSettings
from shared.errors import DomainError
from shared.settings import ConfigurationError


def _version() -> str:
    try:
        return version("energiepost")
    except PackageNotFoundError:
        return "unknown"


def _epilog() -> str:
    codes = "\n".join(f"  {code}  {text}" for code, text in runtime.EXIT_CODES.items())
    names = [field.alias for field in CliSettings.model_fields.values()]
    width = max(map(len, names))
    settings = "\n".join(f"  {name.ljust(width)}  {DESCRIPTIONS[name]}" for name in names)
    return (f"exit status:\n{codes}\n\n"
            f"settings (environment variables; any may instead be <NAME>_FILE, the path of a file holding it):\n"
            f"{settings}\n\n"
            "every command takes --json (shapes in README); `energiepost COMMAND --help` for its options.\n"
            "example:\n  energiepost community list --json")


def parser() -> argparse.ArgumentParser:
    commands.load()
    top = argparse.ArgumentParser(
        prog="energiepost", description="Operate energiepost: communities, files, deliveries and the audit trail.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"energiepost {_version()}",
                     help="print the version and exit")
    return registry.build_parser(top)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2, already explained)
        return exc.code if isinstance(exc.code, int) else runtime.USAGE
    logging.getLogger("amqp").setLevel(logging.ERROR)  # chatter on closing channels is not for operators
    try:
        runtime.load_settings()
    except ConfigurationError as exc:
        for line in str(exc).splitlines():
            runtime.warn(f"invalid setting: {line}")
        return runtime.USAGE
    try:
        args.handler(args)
    except DomainError as exc:
        runtime.warn(exc.message)
        return runtime.status_of(exc)
    except runtime.CliError as exc:
        runtime.warn(str(exc))
        return exc.status
    except KeyboardInterrupt:
        runtime.warn("interrupted")
        return runtime.INTERRUPTED
    except BrokenPipeError:  # `energiepost audit | head`
        return runtime.OK
    return runtime.OK


if __name__ == "__main__":
    sys.exit(main())
