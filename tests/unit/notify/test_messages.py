"""The MIME bytes notify writes, read back as a mail client reads them."""
import email
from datetime import datetime, timezone
from email import policy

import pytest

from services.notify import messages

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)


def built(subject="Nieuw document", text="Beste beheerder,\n", html="<p>Beste</p>\n", recipient="beheer@example.be",
          sender_name="Fluvius"):
    return messages.build_email(sender_name=sender_name, sender="no-reply@energiepost.local", recipient=recipient,
                                rendered=messages.Rendered(subject, text, html), message_id="<1@energiepost.local>",
                                now=NOW)


def read(mail):
    return email.message_from_bytes(mail.data, policy=policy.default)


@pytest.mark.parametrize("subject", [
    "Nieuw document",
    "Nieuw document: correcties-afname-en-injectie-2026-11-energiegemeenschap-zonnedelen-gent.csv",
    "Nieuw document: corrécties.csv",
    "Herinnering: 3 bestanden worden binnenkort verwijderd — «Zonnedelen» Gent – ŋ 日本 🌞 " * 3,
    "=?utf-8?b?bm90IGFuIGVuY29kZWQgd29yZA==?=",
])
def test_every_subject_reads_back_as_written_in_lines_of_at_most_78(subject):
    mail = built(subject)
    assert read(mail)["Subject"] == subject
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))


def test_both_parts_read_back_in_utf8_with_crlf_line_ends():
    text, html = "Beste beheerder,\n\nWachtwoord: k7qm-t3xa\nGroeten, Flüvius\n" * 20, "<p>Beste — ü</p>\n" * 40
    mail = built(text=text, html=html, sender_name="Flüvius")
    message = read(mail)
    assert message.get_body(("plain",)).get_content() == text
    assert message.get_body(("html",)).get_content() == html
    assert message["From"] == "Flüvius <no-reply@energiepost.local>"
    assert message["Content-Language"] == "nl-BE" and message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime == NOW and message["Message-ID"] == "<1@energiepost.local>"
    assert b"\n" not in mail.data.replace(b"\r\n", b"")
    assert not mail.international


def test_an_address_beyond_ascii_is_written_in_utf8_and_marks_the_message_international():
    mail = built(recipient="bëheer@exämple.be")
    assert mail.international and "To: bëheer@exämple.be\r\n".encode() in mail.data
    assert read(mail)["To"] == "bëheer@exämple.be"


def test_a_line_break_in_the_subject_stays_inside_it_and_one_in_an_address_is_refused():
    message = read(built(subject="Nieuw document\r\nBcc: everyone@example.be"))
    assert message["Bcc"] is None and "everyone@example.be" in message["Subject"]
    with pytest.raises(ValueError):
        built(recipient="beheer@example.be\r\nBcc: everyone@example.be")
