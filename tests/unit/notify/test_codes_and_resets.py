"""Texting login codes and mailing reset links: once per event, the same secret on a
retry, nothing for a stale request, and the secret wiped once it is sent.

auth is mocked: ``issue_sms_code`` hands out a fresh code on every call, so a retry
that asked again would show up as a different code.
"""
import itertools
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.notify.dependencies import Turn
from services.notify.models import Delivery, OutboxMessage
from services.notify.service import NotifyService
from services.notify.settings import NotifySettings
from shared.contract import PASSWORD_RESET_REQUESTED, SMS_CODE_REQUESTED
from shared.outbox import Emitter
from tests.support.clock import FixedClock
from tests.support.sinks import html, plain_text
from tests.support.workers import Worker
from tests.unit.notify.test_service import RecordingMailer

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
BASE_URL = "https://energiepost.example.be"
GSM = "+32470123456"
RESET_TOKEN = "Xy7_reset-token-abcdefghijklmnopqrstuvwxyz0123"


class RecordingSms:
    """Stands in for the SMS gateway: keeps what was sent, can fail the next N sends."""

    def __init__(self, clock):
        self.clock = clock
        self.sent = []  # (to, body)
        self.tried_at = []
        self.fail = 0

    def send(self, to, body):
        self.tried_at.append(self.clock.now())
        if self.fail:
            self.fail -= 1
            raise requests.ConnectionError("gateway unreachable")
        self.sent.append((to, body))


def code_event() -> dict:
    return SMS_CODE_REQUESTED.build(occurred_at=NOW, attempt_id=str(uuid.uuid4()), manager_id=str(uuid.uuid4()))


def reset_event() -> dict:
    return PASSWORD_RESET_REQUESTED.build(occurred_at=NOW, reset_id=str(uuid.uuid4()), manager_id=str(uuid.uuid4()))


def codes_in(body: str) -> list[str]:
    return re.findall(r"\b[0-9]{6}\b", body)


def the_delivery(session) -> Delivery:
    session.close()
    return session.scalars(select(Delivery)).one()


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def session(open_session):
    return open_session("notify")


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def sms(clock):
    return RecordingSms(clock)


@pytest.fixture
def mailer():
    return RecordingMailer()


@pytest.fixture
def issued_codes():
    """Every code auth handed out, in order."""
    return []


@pytest.fixture
def turn():
    return Turn()


@pytest.fixture
def notify(session, clock, sms, mailer, issued_codes, turn):
    settings = NotifySettings.load({"PUBLIC_BASE_URL": BASE_URL, "DELIVERY_RETRY_SECONDS": "30"})
    service = worker_factory(NotifyService, db=session, clock=clock, sms=sms, mailer=mailer, settings=settings,
                             turn=turn, outbox=Emitter(session, OutboxMessage))
    fresh = (f"{n:06d}" for n in itertools.count(482_913, 7_919))

    def issue_sms_code(attempt_id, ref):
        issued_codes.append(next(fresh))
        return {"to": GSM, "code": issued_codes[-1], "valid_minutes": 5}

    service.auth.issue_sms_code.side_effect = issue_sms_code
    service.auth.issue_reset_token.return_value = {
        "email": "beheer@example.be", "login": "beheer@example.be", "token": RESET_TOKEN,
        "expires_at": (NOW + timedelta(hours=1)).isoformat(),
    }
    return Worker(service, session)


# --- SMS codes -------------------------------------------------------------------------------

def test_a_code_request_sends_one_sms_with_the_six_digit_code(notify, sms, issued_codes):
    event = code_event()
    notify.on_sms_code_requested(event)
    ((to, body),) = sms.sent
    assert to == GSM
    assert codes_in(body) == issued_codes == [issued_codes[0]]
    notify.service.auth.issue_sms_code.assert_called_once_with(event["attempt_id"], event["event_id"])
    notify.service.auth.report_code_delivery.assert_called_once_with(event["attempt_id"], True)


def test_codes_and_reset_links_do_not_wait_behind_a_month_end_backlog(notify, sms, mailer, turn):
    turn.running = True  # this process's sender is busy with thousands of file e-mails
    notify.on_sms_code_requested(code_event())
    notify.on_password_reset_requested(reset_event())
    assert len(sms.sent) == 1 and len(mailer.sent) == 1


def test_a_redelivered_code_request_sends_nothing_more(notify, sms, session):
    event = code_event()
    notify.on_sms_code_requested(event)
    notify.on_sms_code_requested(dict(event))
    assert len(sms.sent) == 1
    assert notify.service.auth.issue_sms_code.call_count == 1
    assert session.query(Delivery).count() == 1


def test_a_stale_request_sends_nothing_and_is_marked_undeliverable(notify, sms, session):
    notify.service.auth.issue_sms_code.side_effect = None
    notify.service.auth.issue_sms_code.return_value = None  # a newer code was asked for, or the login ended
    event = code_event()
    notify.on_sms_code_requested(event)
    assert sms.tried_at == []
    assert the_delivery(session).status == "undeliverable"
    notify.service.auth.report_code_delivery.assert_called_once_with(event["attempt_id"], False)


def test_the_sms_body_is_wiped_once_sent(notify, session, issued_codes):
    notify.on_sms_code_requested(code_event())
    delivery = the_delivery(session)
    assert delivery.status == "sent"
    assert delivery.body_text is None and delivery.body_html is None
    stored = [str(v) for row in session.execute(select(Delivery.__table__)) for v in row if v is not None]
    assert not any(issued_codes[0] in value for value in stored)


def test_a_failing_gateway_is_retried_after_two_seconds_with_the_same_code(notify, sms, session, clock,
                                                                           issued_codes):
    sms.fail = 1
    event = code_event()
    notify.on_sms_code_requested(event)
    assert sms.sent == []
    delivery = the_delivery(session)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at == NOW + timedelta(seconds=2)
    assert issued_codes[0] not in delivery.last_error
    notify.service.auth.report_code_delivery.assert_not_called()

    clock.advance(seconds=1)
    notify.retry_due_deliveries()  # not due yet
    assert sms.sent == [] and len(sms.tried_at) == 1

    clock.advance(seconds=1)
    notify.retry_due_deliveries()
    ((_, body),) = sms.sent
    assert codes_in(body) == issued_codes == [issued_codes[0]]  # not asked for a new one
    assert the_delivery(session).status == "sent"
    notify.service.auth.report_code_delivery.assert_called_once_with(event["attempt_id"], True)


def test_a_gateway_that_keeps_failing_is_given_up_after_five_minutes(notify, sms, session, clock):
    sms.fail = 1_000
    event = code_event()
    notify.on_sms_code_requested(event)
    while clock.now() < NOW + timedelta(minutes=10):
        clock.advance(seconds=1)
        notify.retry_due_deliveries()
    assert sms.sent == []
    assert len(sms.tried_at) > 3  # it did retry
    assert max(sms.tried_at) <= NOW + timedelta(minutes=5)  # but never past five minutes
    delivery = the_delivery(session)
    assert delivery.status == "undeliverable"
    assert delivery.body_text is None
    notify.service.auth.report_code_delivery.assert_called_once_with(event["attempt_id"], False)


# --- reset links -----------------------------------------------------------------------------

def test_a_reset_request_mails_the_link_on_its_own_line_and_in_html(notify, mailer, session):
    event = reset_event()
    notify.on_password_reset_requested(event)
    (message,) = mailer.sent
    assert message["To"] == "beheer@example.be"
    link = f"{BASE_URL}/reset#{RESET_TOKEN}"  # the token after "#": never sent to a server
    lines = plain_text(message).splitlines()
    assert link in lines
    assert f"{BASE_URL}/reset" in lines and RESET_TOKEN in lines  # without JavaScript: the page and the code
    assert f'href="{link}"' in html(message) and f"/reset/{RESET_TOKEN}" not in html(message)
    notify.service.auth.issue_reset_token.assert_called_once_with(
        event["reset_id"], f"password_reset_requested:{event['event_id']}")
    delivery = the_delivery(session)
    assert delivery.status == "sent" and delivery.body_text is None and delivery.body_html is None
    notify.service.auth.report_code_delivery.assert_not_called()


def test_a_used_or_expired_reset_sends_nothing(notify, mailer, session):
    notify.service.auth.issue_reset_token.return_value = None
    notify.on_password_reset_requested(reset_event())
    assert mailer.sent == []
    assert the_delivery(session).status == "undeliverable"


def test_a_redelivered_reset_request_mails_once(notify, mailer):
    event = reset_event()
    notify.on_password_reset_requested(event)
    notify.on_password_reset_requested(dict(event))
    assert len(mailer.sent) == 1
