"""`energiepost files retract` and `energiepost files extend` end to end: the CLI over the
real broker to the running services, the manager's portal and the mail sink, and their bad inputs."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from cli.main import main
from services.files.models import AuditEvent, File
from shared.formatting import LOCAL_ZONE, last_day_nl
from tests.support.portal import portal  # noqa: F401  (a fixture)
from tests.support.sinks import links_in, plain_text, wait_until
from tests.support.system import rpc, stored_blobs

MAX_EXTEND_DAYS = 10


@pytest.fixture
def service_config(service_config):
    return {**service_config, "MAX_EXTEND_DAYS": MAX_EXTEND_DAYS}


@pytest.fixture
def cli(portal, monkeypatch, capsys):
    """``cli("files", "retract", ...)`` → (exit status, stdout, stderr), as an operator runs it."""
    monkeypatch.setenv("AMQP_URI", portal.config["AMQP_URI"])
    monkeypatch.setenv("ENERGIEPOST_API_URL", portal.base_url)

    def run(*argv):
        capsys.readouterr()
        try:
            status = main(list(argv))
        except SystemExit as exit_:  # argparse: a usage error
            status = exit_.code
        out, err = capsys.readouterr()
        return status, out, err

    return run


def listed(portal, file_id) -> dict:
    (file,) = [f for f in rpc(portal.config, "files", "list_files", community_id="zonnedelen-gent")
               if f["id"] == file_id]
    return file


def today() -> date:
    return datetime.now(LOCAL_ZONE).date()


def test_a_retracted_file_is_gone_with_the_operators_sentence_and_the_manager_is_mailed(portal, cli,
                                                                                       open_session):
    user = portal.full_login()
    kept = portal.publish(filename="blijft.csv", content=b"blijft\n")
    portal.mails_to(user.login, 2)

    status, out, err = cli("files", "retract", user.file_id, "--reason", "verkeerde gemeenschap")

    assert status == 0, err
    assert out.strip() == (f"file {user.file_id} (correcties-2026-10.csv) retracted; "
                           "the manager of zonnedelen-gent gets an e-mail")
    mail = portal.mails_to(user.login, 3)[2]
    assert mail["Subject"] == "Fluvius heeft een document ingetrokken (Zonnedelen Gent): correcties-2026-10.csv"
    text = plain_text(mail)
    assert "Fluvius heeft dit document ingetrokken" in text and "correcties-2026-10.csv" in text
    assert "verkeerde gemeenschap" not in text  # the operator's reason stays in the audit
    assert links_in(mail, portal.base_url) == [f"{portal.base_url}/files"]
    assert mail.get_body(("html",)) is not None

    link = user.client.get(f"/files/{user.file_id}")
    assert link.status_code == 410
    assert "Fluvius heeft dit bestand ingetrokken." in link.text
    assert "bewaartermijn" not in link.text and "U heeft dit bestand verwijderd" not in link.text
    download = user.client.download(user.file_id)
    assert download.status_code == 410 and "Fluvius heeft dit bestand ingetrokken." in download.text
    assert [r.id for r in user.client.rows()] == [kept]
    assert list(stored_blobs(portal.config).values()) == [b"blijft\n"]

    status, out, _ = cli("files", "list", "zonnedelen-gent")
    (line,) = [line for line in out.splitlines() if line.startswith(user.file_id)]
    assert "teruggetrokken" in line
    files = open_session("files")
    (entry,) = files.scalars(select(AuditEvent)).all()
    assert (entry.kind, entry.file_id, entry.community_id, entry.detail) == (
        "file_retracted", user.file_id, "zonnedelen-gent", "verkeerde gemeenschap")
    assert entry.actor and files.get(File, user.file_id).deleted_by == entry.actor

    status, _, err = cli("files", "retract", user.file_id, "--reason", "nog eens")
    assert status == 1 and err.count("\n") == 1 and "was deleted on" in err and "(operator)" in err
    assert len(portal.mail_sink.messages()) == 3


def test_an_extended_file_shows_its_new_last_day_in_the_portal(portal, cli, open_session):
    user = portal.full_login()
    before = listed(portal, user.file_id)["expires_at"]
    normal_last_day = datetime.fromisoformat(before).astimezone(LOCAL_ZONE).date() - timedelta(days=1)
    until = normal_last_day + timedelta(days=MAX_EXTEND_DAYS)

    status, out, err = cli("files", "extend", user.file_id, "--until", until.isoformat())

    assert status == 0, err
    expires_at = listed(portal, user.file_id)["expires_at"]
    assert last_day_nl(expires_at) == f"{until.day}-{until.month}-{until.year}"
    assert out.strip() == f"file {user.file_id} (correcties-2026-10.csv) is available through {last_day_nl(expires_at)}"
    (row,) = user.client.rows()
    assert row.expires == last_day_nl(expires_at)
    (entry,) = open_session("files").scalars(select(AuditEvent)).all()
    assert (entry.kind, entry.detail) == ("file_extended", f"available through {normal_last_day} -> {until}")


@pytest.mark.parametrize("argv, status, complaint", [  # exit statuses: 2 usage or invalid input, 3 not found
    (["files", "retract", "00000000-0000-4000-8000-000000000000", "--reason", "x"], 3, "unknown file"),
    (["files", "retract", "geen-id", "--reason", "x"], 3, "unknown file"),
    (["files", "retract", "{file}"], 2, "the following arguments are required: --reason"),
    (["files", "retract", "{file}", "--reason", " "], 2, "a reason is required"),
    (["files", "extend", "00000000-0000-4000-8000-000000000000", "--until", "{late}"], 3, "unknown file"),
    (["files", "extend", "{file}", "--until", "31-12-2026"], 2, "not a date (YYYY-MM-DD): '31-12-2026'"),
    (["files", "extend", "{file}"], 2, "the following arguments are required: --until"),
    (["files", "extend", "{file}", "--until", "{yesterday}"], 2, "is in the past"),
    (["files", "extend", "{file}", "--until", "{too_late}"], 2, f"{MAX_EXTEND_DAYS} days (MAX_EXTEND_DAYS)"),
])
def test_bad_input_gets_one_line_and_a_non_zero_exit_and_changes_nothing(portal, cli, open_session, argv, status,
                                                                         complaint):
    file_id = portal.publish()
    before = wait_until(lambda: (f := listed(portal, file_id))["emailed_at"] and f, timeout=15,
                        message="the file's e-mail to be recorded")  # nothing else changes it meanwhile
    values = {"file": file_id, "yesterday": (today() - timedelta(days=1)).isoformat(),
              "late": (today() + timedelta(days=31)).isoformat(),
              "too_late": (today() + timedelta(days=30 + MAX_EXTEND_DAYS + 1)).isoformat()}

    got, out, err = cli(*[arg.format(**values) for arg in argv])

    assert got == status and complaint in err and "Traceback" not in err
    if not complaint.startswith(("the following", "not a date")):  # argparse's usage errors print the usage too
        assert err.count("\n") == 1 and err.startswith("energiepost: ")
    assert listed(portal, file_id) == before
    assert open_session("files").scalars(select(AuditEvent)).all() == []
