"""Handing messages to a real SMTP server (the dev mail sink)."""
import smtplib
import ssl
from datetime import datetime, timezone

import pytest
from nameko.containers import ServiceContainer
from nameko.testing.utils import get_extension

from services.notify import messages, sending
from services.notify.dependencies import Mailer, SmtpMailer
from services.notify.service import NotifyService
from tests.support.certs import self_signed
from tests.support.sinks import MailSink, plain_text

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
RENDERED = messages.Rendered("Nieuw document: corrécties.csv", "Beste beheerder,\n\nLogin: x\n", "<p>Beste</p>\n")


def mail(recipient="beheer@example.be"):
    return messages.build_email(sender_name="Flüvius", sender="no-reply@energiepost.local", recipient=recipient,
                                rendered=RENDERED, message_id="<1@energiepost.local>", now=NOW)


@pytest.fixture
def mailer(mail_sink):
    mailer = SmtpMailer("127.0.0.1", mail_sink.port, timeout=5)
    yield mailer
    mailer.close()


def test_one_connection_carries_message_after_message(mailer, mail_sink):
    mailer.send(mail())
    (connection,) = mailer.idle
    mailer.send(mail())
    mailer.send(mail())
    assert mailer.idle == [connection]
    assert len(mail_sink.wait_for(3)) == 3


def test_a_refused_message_closes_its_connection_and_the_next_opens_a_new_one(mailer, mail_sink):
    mail_sink.restart(fail_first=1)
    with pytest.raises(smtplib.SMTPDataError):
        mailer.send(mail())
    assert mailer.idle == []
    mailer.send(mail())
    assert len(mail_sink.wait_for(1)) == 1


def test_the_message_reads_as_written(mailer, mail_sink):
    mailer.send(mail())
    (received,) = mail_sink.wait_for(1)
    assert received["To"] == "beheer@example.be"
    assert received["From"] == "Flüvius <no-reply@energiepost.local>"
    assert received["Subject"] == "Nieuw document: corrécties.csv"
    assert received["Message-ID"] == "<1@energiepost.local>"
    assert plain_text(received) == "Beste beheerder,\n\nLogin: x\n"
    assert received.get_body(("html",)).get_content() == "<p>Beste</p>\n"


def test_an_address_beyond_ascii_goes_in_utf8_with_smtputf8(mailer, mail_sink):
    built = mail("bëheer@exämple.be")
    assert built.international and "bëheer@exämple.be".encode() in built.data
    mailer.send(built)
    (received,) = mail_sink.wait_for(1)
    assert received["To"] == "bëheer@exämple.be"
    assert plain_text(received) == "Beste beheerder,\n\nLogin: x\n"


# --- a relay as in production: STARTTLS and AUTH required ---------------------------------------

USER, PASSWORD = "energiepost", "relay-password-0123456789"


@pytest.fixture
def secure_sink(tmp_path):
    """The dev mail sink with a self-signed certificate, requiring STARTTLS and then AUTH."""
    cert, key = self_signed(tmp_path / "tls")
    sink = MailSink(tmp_path / "secure-mail", args=("--tls-cert", str(cert), "--tls-key", str(key),
                                                    "--username", USER), env={"MAIL_SINK_PASSWORD": PASSWORD})
    sink.ca_file = cert
    yield sink
    sink.stop()


def secure_mailer(sink, **overrides):
    options = dict(security="starttls", username=USER, password=PASSWORD, ca_file=sink.ca_file)
    return SmtpMailer("127.0.0.1", sink.port, timeout=5, **{**options, **overrides})


def test_starttls_and_auth_carry_message_after_message_over_one_connection(secure_sink):
    mailer = secure_mailer(secure_sink)
    try:
        mailer.send(mail())
        (connection,) = mailer.idle
        assert connection.sock.version().startswith("TLS")  # encrypted before the login
        mailer.send(mail())
        assert mailer.idle == [connection]
    finally:
        mailer.close()
    assert [m["Subject"] for m in secure_sink.wait_for(2)] == [RENDERED.subject] * 2


def test_a_wrong_relay_password_is_refused(secure_sink):
    with pytest.raises(smtplib.SMTPAuthenticationError):
        secure_mailer(secure_sink, password="not-the-password").send(mail())
    assert secure_sink.messages() == []


def test_a_relay_that_requires_starttls_refuses_plain_smtp(secure_sink):
    mailer = secure_mailer(secure_sink, security="none", username=None, password=None)
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        mailer.send(mail())
    assert refused.value.smtp_code == 530
    assert not sending.is_permanent(refused.value)  # the configuration is wrong, not the message: retried


def test_a_certificate_the_mailer_does_not_trust_stops_it_before_the_login(secure_sink):
    with pytest.raises(ssl.SSLCertVerificationError):
        secure_mailer(secure_sink, ca_file=None).send(mail())
    assert secure_sink.messages() == []


def test_tls_from_the_first_byte_to_a_starttls_relay_fails_cleanly(secure_sink):
    with pytest.raises((ssl.SSLError, smtplib.SMTPServerDisconnected, ConnectionError)):
        secure_mailer(secure_sink, security="tls").send(mail())


def test_a_permanent_refusal_is_told_apart_from_a_temporary_one(mailer, mail_sink):
    mail_sink.restart(0, "--refuse-first", "1")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mailer.send(mail())
    assert refused.value.smtp_code == 550 and sending.is_permanent(refused.value)
    mail_sink.restart(fail_first=1)
    with pytest.raises(smtplib.SMTPDataError) as failed:
        mailer.send(mail())
    assert failed.value.smtp_code == 451 and not sending.is_permanent(failed.value)


def test_every_worker_of_a_process_uses_the_one_tls_context_made_at_setup(secure_sink):
    """Loading the CAs takes ~30 ms: made once per process, not once per event handled."""
    container = ServiceContainer(NotifyService, {
        "AMQP_URI": "memory://", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(secure_sink.port),
        "SMTP_SECURITY": "starttls", "SMTP_CA_FILE": str(secure_sink.ca_file), "SMTP_USERNAME": USER,
        "SMTP_PASSWORD": PASSWORD, "SMTP_TIMEOUT_SECONDS": "5"})
    provider = get_extension(container, Mailer)
    provider.setup()
    first, second = provider.get_dependency("worker-1"), provider.get_dependency("worker-2")
    assert first.context is second.context is provider.context is not None
    try:
        first.send(mail())
        second.send(mail())
    finally:
        provider.worker_teardown("worker-1")
        provider.worker_teardown("worker-2")
    assert len(secure_sink.wait_for(2)) == 2
