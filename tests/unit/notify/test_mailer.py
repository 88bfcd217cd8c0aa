"""Handing messages to a real SMTP server (the dev mail sink)."""
import smtplib
from datetime import datetime, timezone

import pytest

from services.notify import messages
from services.notify.dependencies import SmtpMailer
from tests.support.sinks import plain_text

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
