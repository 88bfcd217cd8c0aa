"""The e-mail to a manager whose logins were locked (auth's ``account_locked``): sent once,
at once, in Dutch, with what to do — and no secret in it.  auth is mocked."""
import uuid

import pytest
from sqlalchemy import select

from services.notify.models import Delivery
from shared.contract import ACCOUNT_LOCKED
from tests.support.sinks import html, links_in, plain_text
from tests.unit.notify.test_codes_and_resets import (  # noqa: F401  (fixtures)
    BASE_URL, NOW, clock, issued_codes, mailer, notify, session, sms, turn,
)

LOGIN = "beheer@example.be"


def locked_event(stream="unknown") -> dict:
    return ACCOUNT_LOCKED.build(occurred_at=NOW, manager_id=str(uuid.uuid4()), stream=stream)


@pytest.fixture
def notice(notify):
    notify.service.auth.get_lock_notice.return_value = {"email": LOGIN, "login": LOGIN}
    return notify


def test_a_lock_mails_the_manager_once_with_the_way_out(notice, mailer, turn):
    turn.running = True  # behind a month-end backlog: still sent at once
    event = locked_event()
    notice.on_account_locked(event)
    notice.on_account_locked(dict(event))  # redelivered
    (mail,) = mailer.sent
    notice.service.auth.get_lock_notice.assert_called_once_with(event["manager_id"])
    assert mail["To"] == LOGIN
    assert "geblokkeerd" in mail["Subject"]
    text = plain_text(mail)
    assert "Op 26-11-2026 om 10:30 werd aanmelden met de login beheer@example.be geblokkeerd" in text
    assert "vanaf toestellen waarop u nog niet eerder aanmeldde" in text
    assert "Op een toestel waarop u eerder aanmeldde (dezelfde browser), werkt uw aanmelding nog gewoon." in text
    assert links_in(mail, BASE_URL) == [f"{BASE_URL}/forgot"]  # a link of its own line
    assert f'href="{BASE_URL}/forgot"' in html(mail)


def test_a_lock_on_a_trusted_device_says_so(notice, mailer):
    notice.on_account_locked(locked_event("trusted"))
    text = plain_text(mailer.sent[0])
    assert "op een toestel waarop u eerder aanmeldde" in text and "Op andere toestellen werkt" in text


def test_no_mail_for_a_manager_who_is_gone(notify, mailer, session):
    notify.service.auth.get_lock_notice.return_value = None
    notify.on_account_locked(locked_event())
    assert mailer.sent == []
    session.close()
    assert session.scalar(select(Delivery.status)) == "undeliverable"
