"""The whole system as `make run` starts it, driven with the operator's CLI."""
import io
import os
import re
import signal
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from shared.settings import PROJECT_ROOT
from tests.support import blobstores
from tests.support.launch import cli, queue_counts, running, system_environment
from shared.formatting import LOCAL_ZONE
from tests.support.portal import PortalSystem
from tests.support.sinks import MailSink, Written, credentials_in, free_port, links_in, plain_text, wait_until
from tests.support.system import stored_blobs

@pytest.fixture
def environment(rabbit_config, tmp_path, request):
    """`make run`'s environment; parametrised indirectly with "s3", the blobs go to a fresh
    bucket on the session's S3 server (moto) instead of DATA_DIR/blobs."""
    env = system_environment(rabbit_config["AMQP_URI"], tmp_path / "var")
    if getattr(request, "param", "file") == "s3":
        env.update(blobstores.blob_store_config("s3", request, tmp_path))
    return env


@pytest.fixture
def running_system(environment):
    with running(environment) as process:
        yield process


@pytest.mark.parametrize("environment", blobstores.BACKENDS, indirect=True)
def test_publish_twice_through_make_run_and_the_cli_then_download(running_system, environment, tmp_path):
    added = cli(environment, "community", "add", "zonnedelen-gent", "--name", "Zonnedelen Gent",
                "--email", "beheer@example.be", "--gsm", "0470 12 34 56")
    assert added.returncode == 0, added.stderr
    assert "+32470123456" in added.stdout

    document = tmp_path / "correcties-2026-10.csv"
    document.write_text("ean;afname;injectie\n541448000000000001;12,5;-3,2\n")
    ids = []
    for kind in ("periodic", "adhoc"):
        published = cli(environment, "publish", "zonnedelen-gent", str(document), "--kind", kind)
        assert published.returncode == 0, published.stderr
        assert "available through " in published.stdout
        ids.append(published.stdout.strip().splitlines()[-1])
        assert re.fullmatch(r"[0-9a-f-]{36}", ids[-1])
        MailSink.messages_in(Path(environment["DATA_DIR"]) / "mail", wait_for=len(ids))

    mails = MailSink.messages_in(Path(environment["DATA_DIR"]) / "mail", wait_for=2)
    base = environment["PUBLIC_BASE_URL"]
    assert [links_in(mail, base) for mail in mails] == [[f"{base}/files/{ids[0]}"], [f"{base}/files/{ids[1]}"]]
    assert credentials_in(mails[0])["login"] == "beheer@example.be"
    assert len(credentials_in(mails[0])["password"]) >= 16
    assert credentials_in(mails[1]) == {}
    assert all(mail.get_body(("html",)) is not None for mail in mails)

    listed = cli(environment, "files", "list", "zonnedelen-gent")
    assert listed.returncode == 0 and all(file_id in listed.stdout for file_id in ids)
    assert "periodiek bestand" in listed.stdout and "ad-hoc communicatie" in listed.stdout  # the text's words
    assert listed.stdout.count(" 49 B ") == 2 and "AVAILABLE THROUGH" in listed.stdout

    unknown = cli(environment, "publish", "onbekend", str(document))
    assert unknown.returncode != 0 and "unknown community" in unknown.stderr
    bad_gsm = cli(environment, "community", "add", "x", "--name", "X", "--email", "x@example.be", "--gsm", "09 234 56 78")
    assert bad_gsm.returncode != 0 and "mobile" in bad_gsm.stderr

    stored = stored_blobs(environment)
    assert list(stored.values()) == [document.read_bytes()] * 2  # the two published blobs, nothing staged
    assert all("objects/" in location for location in stored)
    written = Written(Path(environment["DATA_DIR"]))
    client = PortalSystem({"PUBLIC_BASE_URL": base}, written.mail, written.sms).full_login(publish=False).client
    single = client.download(ids[0])
    assert single.status_code == 200 and single.content == document.read_bytes()
    both = client.download(*ids)
    assert both.status_code == 200 and both.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(both.content))
    assert sorted(archive.namelist()) == ["correcties-2026-10 (2).csv", "correcties-2026-10.csv"]
    assert [archive.read(name) for name in archive.namelist()] == [document.read_bytes()] * 2


def test_ctrl_c_stops_every_process(running_system):
    os.killpg(running_system.pid, signal.SIGINT)
    running_system.wait(30)
    output = running_system.stdout.read()
    for name in ("auth", "files", "notify", "gateway", "mailsink", "smssink"):
        assert f"{name}.1 stopped" in output, output
    assert subprocess.run(["pgrep", "-g", str(running_system.pid)], capture_output=True).stdout == b""


def test_without_a_broker_make_run_says_so_in_one_line(environment):
    environment["AMQP_URI"] = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    result = subprocess.run([sys.executable, "-m", "ops.run"], cwd=PROJECT_ROOT, env=environment,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach RabbitMQ" in lines[0] and "rabbitmq-server" in lines[0] and "guest:***@" in lines[0]


def test_retention_reminds_then_deletes_for_good(running_system, environment, tmp_path):
    """Publish; retention as of +24 days sends the reminder; as of +31 days the file is
    gone: its link answers 410 and its blob has left the store."""
    data_dir = Path(environment["DATA_DIR"])
    written = Written(data_dir)
    assert cli(environment, "community", "add", "zonnedelen-gent", "--name", "Zonnedelen Gent",
               "--email", "beheer@example.be", "--gsm", "0470 12 34 56").returncode == 0
    document = tmp_path / "correcties-2026-10.csv"
    document.write_text("ean;afname;injectie\n541448000000000001;12,5;-3,2\n")
    file_id = cli(environment, "publish", "zonnedelen-gent", str(document)).stdout.strip().splitlines()[-1]
    (published,) = MailSink.messages_in(data_dir / "mail", wait_for=1)
    blobs = [p for p in (data_dir / "blobs" / "objects").rglob("*") if p.is_file()]
    assert len(blobs) == 1

    today = datetime.now(LOCAL_ZONE).date()
    assert cli(environment, "retention", "run", "--today", (today + timedelta(days=24)).isoformat()).returncode == 0
    reminder = MailSink.messages_in(data_dir / "mail", wait_for=2)[1]
    assert "binnenkort verwijderd" in reminder["Subject"]
    assert "correcties-2026-10.csv" in plain_text(reminder) and "(nog niet gedownload)" in plain_text(reminder)

    assert cli(environment, "retention", "run", "--today", (today + timedelta(days=31)).isoformat()).returncode == 0
    wait_until(lambda: not any(p.is_file() for p in (data_dir / "blobs" / "objects").rglob("*")),
               message="the blob to leave the store")
    listed = cli(environment, "files", "list", "zonnedelen-gent").stdout
    assert file_id in listed and "verwijderd" in listed and "retention period ended" in listed

    portal = PortalSystem({"PUBLIC_BASE_URL": environment["PUBLIC_BASE_URL"]}, written.mail, written.sms)
    logged_in = portal.full_login(publish=False)
    (link,) = links_in(published, environment["PUBLIC_BASE_URL"])
    gone = logged_in.client.get(link.removeprefix(environment["PUBLIC_BASE_URL"]))
    assert gone.status_code == 410 and "niet meer beschikbaar" in gone.text
    assert len(MailSink.messages_in(data_dir / "mail")) == 2  # one publication, one reminder


def test_make_run_with_replicas_runs_two_of_every_service(environment):
    environment["REPLICAS"] = "2"
    host, port = environment["GATEWAY_ADDRESS"].rsplit(":", 1)
    with running(environment):
        wait_until(lambda: all(queue_counts(environment["AMQP_URI"], f"rpc-{service}")[1] == 2
                               for service in ("auth", "files", "notify")), timeout=60, message="two of each")
        for address in (f"{host}:{port}", f"{host}:{int(port) + 1}"):
            assert requests.get(f"http://{address}/healthz", timeout=5).ok
