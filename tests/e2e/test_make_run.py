"""The whole system as `make run` starts it, driven with the operator's CLI."""
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from shared.settings import PROJECT_ROOT
from tests.support.sinks import MailSink, credentials_in, free_port, links_in, wait_until

CLI = str(Path(sys.executable).parent / "energiepost")


@pytest.fixture
def environment(rabbit_config, tmp_path):
    gateway = free_port()
    env = {
        **os.environ,
        "AMQP_URI": rabbit_config["AMQP_URI"],  # a vhost of its own: a developer's `make run` is untouched
        "DATA_DIR": str(tmp_path / "var"),
        "GATEWAY_ADDRESS": f"127.0.0.1:{gateway}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{gateway}",
        "SMTP_PORT": str(free_port()),
        "SMS_GATEWAY_URL": f"http://127.0.0.1:{free_port()}/messages",
    }
    for name in ("INGEST_API_KEYS", "ENERGIEPOST_INGEST_KEY", "ENERGIEPOST_ENV", "ENERGIEPOST_API_URL"):
        env.pop(name, None)
    return env


@pytest.fixture
def running_system(environment):
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"], cwd=PROJECT_ROOT, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True,
    )

    def healthy():
        if process.poll() is not None:
            raise AssertionError(f"make run exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            return requests.get(f"{environment['PUBLIC_BASE_URL']}/healthz", timeout=1).ok
        except requests.ConnectionError:
            return False

    try:
        wait_until(healthy, timeout=90, interval=0.5, message="the gateway of `make run`")
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                raise


def cli(environment, *args):
    return subprocess.run([CLI, *args], cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=60)


def test_publish_twice_through_make_run_and_the_cli(running_system, environment, tmp_path):
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

    unknown = cli(environment, "publish", "onbekend", str(document))
    assert unknown.returncode != 0 and "unknown community" in unknown.stderr
    bad_gsm = cli(environment, "community", "add", "x", "--name", "X", "--email", "x@example.be", "--gsm", "09 234 56 78")
    assert bad_gsm.returncode != 0 and "mobile" in bad_gsm.stderr


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
