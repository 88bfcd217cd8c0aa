"""Tests for ops.mail_sink, the development SMTP sink.

The sink runs as a real subprocess: the test process may be monkey-patched by
eventlet, and the sink must work as ``make run`` starts it anyway.
"""

import email
import email.policy
import os
import smtplib
import time
from email.message import EmailMessage

import pytest

from tests.support.sinks import SinkProcess, free_port

HOST = "127.0.0.1"
DUTCH = "Uw bestand is beschikbaar – één"


class Sink:
    def __init__(self, tmp_path, *extra, env=None, mail_dir=None):
        self.dir = mail_dir or tmp_path / "var" / "mail"  # does not exist yet
        self.process = SinkProcess("ops.mail_sink", free_port(), ["--dir", str(self.dir), *extra],
                                   log_dir=tmp_path, env=env)
        self.port, self.out = self.process.port, self.process.out

    def stop(self, timeout=5.0):
        return self.process.stop(timeout)

    def files(self):
        """The saved messages in arrival order; fails on any non-.eml leftover."""
        names = sorted(os.listdir(self.dir))
        assert all(name.endswith(".eml") and not name.startswith(".") for name in names), names
        return [self.dir / name for name in names]

    def smtp(self):
        return smtplib.SMTP(HOST, self.port, timeout=10)


@pytest.fixture
def start_sink(tmp_path):
    sinks = []

    def start(*extra, **kwargs):
        sinks.append(Sink(tmp_path, *extra, **kwargs))
        return sinks[-1]

    yield start
    for sink in sinks:
        assert sink.stop() == 0


def make_message(subject, to="ontvanger@example.be"):
    msg = EmailMessage()
    msg["From"] = "Energiepost <noreply@energiepost.example>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(f"{DUTCH}\n\nMet vriendelijke groeten.\n")
    msg.add_alternative(f"<html><body><p>{DUTCH}</p></body></html>\n", subtype="html")
    return msg


def read_eml(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def text_of(part):
    return part.get_content().replace("\r\n", "\n")  # .eml files keep SMTP's CRLF


def test_prints_startup_line_and_creates_dir(start_sink):
    sink = start_sink()
    assert sink.dir.is_dir()
    assert sink.out.read_text(encoding="utf-8") == f"mail sink: smtp://{HOST}:{sink.port} -> {sink.dir}\n"


def test_one_message_becomes_one_eml_file(start_sink):
    sink = start_sink()
    with sink.smtp() as smtp:
        smtp.send_message(make_message(DUTCH))

    [path] = sink.files()
    saved = read_eml(path)
    assert saved["Subject"] == DUTCH
    assert saved["To"] == "ontvanger@example.be"
    assert saved["X-Envelope-To"] == "ontvanger@example.be"
    assert saved["Return-Path"] == "<noreply@energiepost.example>"
    assert saved.get_content_type() == "multipart/alternative"
    plain, html = saved.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert text_of(plain) == f"{DUTCH}\n\nMet vriendelijke groeten.\n"
    assert html.get_content_type() == "text/html"
    assert text_of(html) == f"<html><body><p>{DUTCH}</p></body></html>\n"


def test_keeps_the_raw_message_bytes(start_sink):
    sink = start_sink()
    raw = b"Subject: raw\r\nTo: a@example.be\r\n\r\n.leading dot\r\n..two dots\r\nend\r\n"
    with sink.smtp() as smtp:
        smtp.sendmail("from@example.be", ["a@example.be", "b@example.be"], raw)

    [path] = sink.files()
    assert path.read_bytes() == (
        b"Return-Path: <from@example.be>\r\n"
        b"X-Envelope-To: a@example.be, b@example.be\r\n" + raw
    )


def test_files_sort_in_arrival_order(start_sink):
    sink = start_sink()
    with sink.smtp() as smtp:
        smtp.send_message(make_message("eerste"))
        smtp.send_message(make_message("tweede"))

    assert [read_eml(path)["Subject"] for path in sink.files()] == ["eerste", "tweede"]


def test_fail_first_answers_451_then_accepts(start_sink):
    sink = start_sink("--fail-first", "1")
    with sink.smtp() as smtp:
        with pytest.raises(smtplib.SMTPDataError) as excinfo:
            smtp.send_message(make_message("poging 1"))
        assert excinfo.value.smtp_code == 451
        assert b"simulated by mail sink" in excinfo.value.smtp_error
        assert sink.files() == []

        smtp.send_message(make_message("poging 2"))

    assert [read_eml(path)["Subject"] for path in sink.files()] == ["poging 2"]


def test_environment_supplies_defaults_and_flags_win(start_sink, tmp_path):
    env_dir = tmp_path / "from-env"
    flag_dir = tmp_path / "from-flag"
    sink = start_sink(env={"MAIL_SINK_DIR": str(env_dir)}, mail_dir=flag_dir)
    with sink.smtp() as smtp:
        smtp.send_message(make_message("vlag"))
    assert len(sink.files()) == 1
    assert not env_dir.exists()


def test_sigterm_exits_zero_quickly_with_an_open_session(start_sink):
    sink = start_sink()
    with sink.smtp() as smtp:
        smtp.ehlo()
        smtp.mail("from@example.be")
        started = time.monotonic()
        assert sink.stop() == 0
        assert time.monotonic() - started < 5
