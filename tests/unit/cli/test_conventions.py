"""The command line's conventions, for every command (the ones to come included): help on
every argument and option, an example, --json, --version, the exit statuses and the
settings in --help, and one line instead of a traceback."""
import argparse

import pytest

from cli import main as cli_main
from cli import registry
from cli.settings import DESCRIPTIONS, CliSettings


def leaves(parser: argparse.ArgumentParser, words=()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if words and tuple(words) in registry.COMMANDS:
        yield tuple(words), parser
    for action in subs:
        for word, child in action.choices.items():
            yield from leaves(child, (*words, word))


def all_leaves():
    return list(leaves(cli_main.parser()))


def test_every_registered_command_is_reachable():
    assert {words for words, _ in all_leaves()} == set(registry.COMMANDS)
    assert {("deliveries",), ("deliveries", "retry"), ("audit",), ("community", "remove"),
            ("community", "resend-credentials"), ("files", "list")} <= set(registry.COMMANDS)


def test_every_argument_and_option_has_help_and_every_command_an_example_and_json():
    for words, parser in all_leaves():
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{' '.join(words)}: {action.dest} has no help"
        assert parser.epilog.startswith("example:\n  energiepost " + " ".join(words)), words
        assert "--json" in parser.format_help()


def test_top_help_lists_exit_statuses_and_every_setting(capsys):
    assert cli_main.main(["--help"]) == 0
    out = capsys.readouterr().out
    for code in ("0  done", "1  refused", "2  usage", "3  not found", "4  unavailable"):
        assert code in out
    for field in CliSettings.model_fields.values():
        assert field.alias in out and field.alias in DESCRIPTIONS


def test_version(capsys):
    assert cli_main.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("energiepost ")


@pytest.mark.parametrize("argv", [
    [], ["nonsense"], ["community"], ["deliveries", "--kind", "fax"], ["deliveries", "retry", "x"],
    ["deliveries", "--since", "gisteren"], ["audit", "--format", "xml"], ["audit", "--limit", "0"],
    ["retention", "run", "--today", "2026-02-30"], ["community", "remove"],
])
def test_a_usage_error_is_status_2_and_one_explanation(argv, capsys):
    assert cli_main.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error:" in err


def test_a_bad_setting_is_status_2_and_names_it(monkeypatch, capsys):
    monkeypatch.setenv("RPC_TIMEOUT_SECONDS", "soon")
    assert cli_main.main(["community", "list"]) == 2
    assert capsys.readouterr().err.strip() == \
        "energiepost: invalid setting: RPC_TIMEOUT_SECONDS must be a number, not 'soon'"


def test_no_broker_is_status_4_and_one_line(monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URI", "amqp://guest:secret@127.0.0.1:1/")
    assert cli_main.main(["deliveries"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach RabbitMQ" in err and "secret" not in err


def test_removing_without_a_terminal_needs_yes(monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URI", "amqp://guest:guest@127.0.0.1:1/")  # never reached: refused before
    assert cli_main.main(["community", "remove", "zonnedelen-gent"]) == 2
    assert "add --yes" in capsys.readouterr().err


def test_a_command_is_one_decorated_function():
    """How the helpers add `files retract` and the like (cli.registry's docstring)."""
    saved = dict(registry.COMMANDS)
    try:
        @registry.command("files shout", help="test", example="energiepost files shout X",
                          args=[registry.arg("file_id", help="the file")])
        def shout(args):
            print(args.file_id.upper())

        words = dict(all_leaves())
        assert ("files", "shout") in words
        with pytest.raises(ValueError, match="needs a help"):
            registry.arg("--reason")
        with pytest.raises(ValueError, match="twice"):
            registry.command("files shout", help="again", example="x")(shout)
    finally:
        registry.COMMANDS.clear()
        registry.COMMANDS.update(saved)


class Terminal:
    """A terminal's stdin with one typed line."""

    def __init__(self, line: str):
        self.line = line

    def isatty(self):
        return True

    def readline(self):
        return self.line


def test_removal_goes_ahead_only_when_the_id_is_typed(monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URI", "amqp://guest:guest@127.0.0.1:1/")  # reached only once confirmed: status 4
    monkeypatch.setattr("sys.stdin", Terminal("yes\n"))
    assert cli_main.main(["community", "remove", "zonnedelen-gent"]) == 2
    assert "not confirmed; nothing was changed" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", Terminal("zonnedelen-gent\n"))
    assert cli_main.main(["community", "remove", "zonnedelen-gent"]) == 4
    out, err = capsys.readouterr()
    assert "Type its id to confirm" in out and "cannot reach RabbitMQ" in err
