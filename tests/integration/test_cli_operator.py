"""The operator's CLI end to end through the running system (real broker, databases, blob
store, mail and SMS sinks, portal): deliveries and retry, new credentials, removing a
community, the audit trail, the files list — and each command's bad inputs and exit status."""
import csv
import io
import json
import os
from dataclasses import dataclass

import pytest

from cli.main import main
from tests.support import launch
from tests.support.portal import ALL, OWN_PASSWORD, PortalSystem, location_path
from tests.support.sinks import credentials_in, wait_until
from tests.support.system import INGEST_KEY, add_community, stored_blobs

COMMUNITY = "zonnedelen-gent"
LOGIN = "beheer@example.be"


@dataclass
class Ran:
    status: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


@pytest.fixture
def overrides():
    return {}


@pytest.fixture
def portal(runner_factory, service_config, mail_sink, sms_sink, overrides, monkeypatch):
    """The four services, the sinks, one community; the CLI's environment pointed at them."""
    config = {**service_config, "SMS_GATEWAY_URL": sms_sink.url, **overrides}
    runner_factory(config, *ALL).start()
    add_community(config)
    monkeypatch.setenv("AMQP_URI", config["AMQP_URI"])
    monkeypatch.setenv("RPC_TIMEOUT_SECONDS", "10")
    monkeypatch.setenv("ENERGIEPOST_API_URL", config["PUBLIC_BASE_URL"])
    monkeypatch.setenv("ENERGIEPOST_INGEST_KEY", INGEST_KEY)
    return PortalSystem(config, mail_sink, sms_sink)


@pytest.fixture
def cli(capsys):
    def run(*argv: str) -> Ran:
        capsys.readouterr()
        status = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return Ran(status, out, err)

    return run


def one_line(ran: Ran) -> str:
    assert ran.err.count("\n") == 1, ran.err
    return ran.err


# --- files list ------------------------------------------------------------------------------------

def test_files_list_shows_each_files_email_downloads_and_status(portal, cli):
    user = portal.full_login()
    big = portal.publish(filename="mededeling.pdf", content=b"x" * 2_340_000, data={"kind": "adhoc"})
    portal.mails_to(LOGIN, 2)
    assert user.client.download(user.file_id).status_code == 200

    listed = wait_until(lambda: (r := cli("files", "list", COMMUNITY, "--json")).json
                        and all(f["email"] and f["email"]["status"] == "sent" for f in r.json) and r, 15,
                        message="both e-mails recorded as sent")
    files = {f["id"]: f for f in listed.json}
    assert files[user.file_id]["downloads"] == 1 and files[user.file_id]["first_downloaded_at"]
    assert files[big]["downloads"] == 0 and files[big]["size"] == 2_340_000
    assert files[big]["email"]["sent_at"] and files[big]["deleted_at"] is None

    table = cli("files", "list", COMMUNITY)
    assert table.status == 0
    header, *rows = table.out.splitlines()
    assert "E-MAILED" in header and "DOWNLOADED" in header and "REMINDED" in header
    first = next(row for row in rows if row.startswith(user.file_id))
    assert "23 B" in first and "sent " in first and first.rstrip().endswith("downloaded")
    assert "2,34 MB" in next(row for row in rows if row.startswith(big))
    assert " 2340000 " in next(row for row in cli("files", "list", COMMUNITY, "--bytes").out.splitlines()
                               if row.startswith(big))

    unknown = cli("files", "list", "nergens")
    assert unknown.status == 3 and "unknown community 'nergens'" in one_line(unknown)
    installed = launch.cli(dict(os.environ), "files", "list", "nergens")  # the installed command, same answer
    assert (installed.returncode, installed.stderr) == (3, unknown.err)


# --- deliveries ------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [{"DELIVERY_RETRY_SECONDS": 3600}])  # no retry of its own within the test
def test_a_failing_mail_is_listed_and_retry_sends_it_now(portal, cli, mail_sink):
    mail_sink.stop()
    file_id = portal.publish()

    failed = wait_until(lambda: (r := cli("deliveries", "--failed", "--json")).json and r, 15,
                        message="the failed delivery").json
    (delivery,) = failed
    assert (delivery["kind"], delivery["community_id"], delivery["file_id"]) == ("file_published", COMMUNITY, file_id)
    assert delivery["status"] == "failing" and delivery["attempts"] == 1 and delivery["sent_at"] is None
    assert "ConnectionRefusedError" in delivery["last_error"]
    assert "Wachtwoord" not in json.dumps(failed) and "body_text" not in delivery  # never the message
    table = cli("deliveries", "--community", COMMUNITY)
    assert table.status == 0 and "failing" in table.out and "ConnectionRefusedError" in table.out

    mail_sink.start()
    retried = cli("deliveries", "retry", str(delivery["id"]))
    assert retried.status == 0 and f"delivery {delivery['id']} (file_published) is due again" in retried.out
    (mail,) = mail_sink.wait_for(1)
    assert credentials_in(mail)["login"] == LOGIN  # the first e-mail, credentials and all
    sent = wait_until(lambda: (d := cli("deliveries", "--json").json[0])["status"] == "sent" and d, 15,
                      message="the delivery recorded as sent")
    assert sent["sent_at"] and sent["attempts"] == 1
    assert cli("deliveries", "--failed", "--json").json == []

    again = cli("deliveries", "retry", str(delivery["id"]))
    assert again.status == 1 and "was sent already" in one_line(again)
    assert cli("deliveries", "retry", "99999").status == 3
    assert cli("deliveries", "--kind", "fax").status == 2
    assert cli("deliveries", "--since", "2099-01-01").out.strip() == "no deliveries"


# --- new credentials -------------------------------------------------------------------------------

def test_resent_credentials_replace_the_initial_password_at_once(portal, cli):
    portal.publish()
    old = portal.credentials()

    resent = cli("community", "resend-credentials", COMMUNITY, "--json")

    assert resent.status == 0 and resent.json["email"] == LOGIN and resent.json["password_reset"] is False
    new = credentials_in(portal.mails_to(LOGIN, 2)[1])
    assert new["login"] == LOGIN and new["password"] != old["password"]
    client = portal.client()
    client.get("/login")
    assert client.post("/login", {"login": LOGIN, "password": old["password"]}).status_code == 401
    portal.login_with_initial_password(client, new)
    kinds = [d["kind"] for d in cli("deliveries", "--community", COMMUNITY, "--json").json]
    assert kinds == ["file_published", "credentials_reissued"]


def test_a_manager_with_an_own_password_gets_new_credentials_only_with_reset(portal, cli):
    user = portal.full_login()

    refused = cli("community", "resend-credentials", COMMUNITY)
    assert refused.status == 1 and "--reset" in one_line(refused)
    assert user.client.files_page().status_code == 200  # nothing changed

    reset = cli("community", "resend-credentials", COMMUNITY, "--reset")

    assert reset.status == 0 and "sessions ended" in reset.out
    page = user.client.get("/files")
    assert page.status_code == 303 and location_path(page).startswith("/login")  # the session ended
    client = portal.client()
    client.get("/login")
    assert client.post("/login", {"login": LOGIN, "password": OWN_PASSWORD}).status_code == 401
    new = credentials_in(portal.mails_to(LOGIN, 2)[1])
    portal.login_with_initial_password(client, new)
    assert cli("community", "resend-credentials", "nergens").status == 3


# --- removing a community --------------------------------------------------------------------------

def test_removing_a_community_ends_its_files_and_account(portal, cli):
    user = portal.full_login()

    unconfirmed = cli("community", "remove", COMMUNITY)
    assert unconfirmed.status == 2 and "add --yes" in one_line(unconfirmed)
    assert [c["id"] for c in cli("community", "list", "--json").json] == [COMMUNITY]

    removed = cli("community", "remove", COMMUNITY, "--yes", "--json")

    assert removed.status == 0 and removed.json == {"community_id": COMMUNITY, "account_removed": True}
    assert cli("community", "list").out.strip() == "no communities yet"
    assert cli("files", "list", COMMUNITY).status == 3
    wait_until(lambda: stored_blobs(portal.config) == {}, 15, message="the community's blobs removed")
    page = user.client.get(f"/files/{user.file_id}")
    assert page.status_code == 303 and location_path(page).startswith("/login")
    client = portal.client()
    client.get("/login")
    assert client.post("/login", {"login": LOGIN, "password": OWN_PASSWORD}).status_code == 401
    trail = wait_until(lambda: (t := cli("audit", "--community", COMMUNITY, "--json").json)
                       and any(e["kind"] == "file_deleted" for e in t) and t, 15, message="the deletion audited")
    kinds = [e["kind"] for e in trail]
    assert {"community_removed", "account_removed"} <= set(kinds)
    assert [e["detail"] for e in trail if e["kind"] == "file_deleted"] == ["community removed"]
    assert cli("community", "remove", COMMUNITY, "--yes").status == 3


# --- the audit trail -------------------------------------------------------------------------------

def test_the_audit_merges_logins_codes_password_changes_and_downloads(portal, cli):
    client = portal.client()
    client.get("/login")
    assert client.post("/login", {"login": LOGIN, "password": "niet mijn wachtwoord 1"}).status_code == 401
    user = portal.full_login()
    assert user.client.download(user.file_id).status_code == 200

    wanted = {"login_failed", "code_sent", "password_changed", "login_ok", "file_downloaded"}
    ran = wait_until(lambda: (r := cli("audit", "--community", COMMUNITY, "--format", "csv"))
                     and wanted <= {row["kind"] for row in csv.DictReader(io.StringIO(r.out))} and r, 15,
                     message="the code's delivery audited")
    assert ran.status == 0
    rows = list(csv.DictReader(io.StringIO(ran.out)))
    assert list(rows[0]) == ["at", "source", "kind", "login", "community_id", "file_id", "file_name", "client_ip",
                             "detail"]
    assert [row["at"] for row in rows] == sorted(row["at"] for row in rows)
    (download,) = [row for row in rows if row["kind"] == "file_downloaded"]
    assert (download["login"], download["file_id"], download["file_name"], download["source"]) == (
        LOGIN, user.file_id, "correcties-2026-10.csv", "files")
    assert {row["login"] for row in rows if row["source"] == "auth"} == {LOGIN}
    assert OWN_PASSWORD not in ran.out

    as_json = cli("audit", "--community", COMMUNITY, "--json").json
    assert [e["kind"] for e in as_json] == [row["kind"] for row in rows]
    table = cli("audit", "--community", COMMUNITY)
    assert table.out.splitlines()[0].split() == ["WHEN", "KIND", "WHO", "COMMUNITY", "FILE", "ADDRESS", "DETAIL"]
    (sms,) = cli("deliveries", "--community", COMMUNITY, "--kind", "sms_code_requested", "--json").json
    assert (sms["status"], sms["recipient"]) == ("sent", "+32470123456")  # the manager's code, under the community
    assert cli("audit", "--since", "2099-01-01").out.strip() == "no events"
    assert cli("audit", "--community", "nergens").status == 3
    assert cli("audit", "--since", "gisteren").status == 2


# --- the commands that were there before, under the same conventions -------------------------------

def test_community_commands_answer_in_json_and_map_refusals_to_exit_statuses(portal, cli):
    added = cli("community", "add", "wind-aalst", "--name", "Wind Aalst", "--email", "wind@example.be",
                "--gsm", "0470 99 88 77", "--json")
    assert added.status == 0 and added.json["gsm"] == "+32470998877"
    assert cli("community", "add", "wind-aalst", "--name", "W", "--email", "x@example.be",
               "--gsm", "0470 99 88 76").status == 1  # exists already
    bad = cli("community", "update", "wind-aalst", "--email", "geen-adres")
    assert bad.status == 2 and bad.err.startswith("energiepost: ")
    assert cli("community", "update", "nergens", "--name", "X").status == 3
    assert {c["id"] for c in cli("community", "list", "--json").json} == {COMMUNITY, "wind-aalst"}
    assert cli("retention", "run", "--today", "2026-12-20", "--json").json == {"run_date": "2026-12-20"}


def test_a_system_that_is_not_running_is_status_4(rabbit_config, cli, monkeypatch, tmp_path):
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])  # a broker, but no services
    monkeypatch.setenv("RPC_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("ENERGIEPOST_API_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("ENERGIEPOST_INGEST_KEY", INGEST_KEY)
    for argv in (["community", "list"], ["deliveries"], ["audit"]):
        ran = cli(*argv)
        assert ran.status == 4 and "not running" in one_line(ran), argv
    document = tmp_path / "a.csv"
    document.write_bytes(b"a;b\n")
    assert cli("publish", COMMUNITY, str(document)).status == 4


def test_a_service_that_does_not_answer_in_time_is_status_4(rabbit_config, cli, monkeypatch):
    """auth's queue exists (as while it restarts) but nobody consumes: the deadline ends the wait."""
    from kombu import Connection, Exchange, Queue

    with Connection(rabbit_config["AMQP_URI"]) as connection:
        exchange = Exchange("nameko-rpc", type="topic", durable=True)
        Queue("rpc-auth", exchange=exchange, routing_key="auth.*", durable=True)(connection.channel()).declare()
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    monkeypatch.setenv("RPC_TIMEOUT_SECONDS", "1")

    ran = cli("community", "list")

    assert ran.status == 4 and "did not answer in time" in one_line(ran)
