import email
import smtplib
import uuid
from email import policy
from datetime import datetime, timedelta, timezone

import pytest
from nameko.testing.services import worker_factory
from prometheus_client import REGISTRY

from services.notify import deliveries, sending
from services.notify.dependencies import SmtpMailer, Turn
from services.notify.models import Delivery, OutboxMessage
from services.notify.service import NotifyService
from services.notify.settings import NotifySettings
from shared.contract import FILE_PUBLISHED
from shared.errors import ServiceUnavailable
from shared.outbox import Emitter
from tests.support.clock import FixedClock
from tests.support.sinks import credentials_in, html, links_in, plain_text

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
BASE_URL = "https://energiepost.example.be"


class RecordingMailer:
    """Stands in for SMTP: keeps what was sent (parsed as a mail client would), can
    refuse the next N messages."""

    def __init__(self):
        self.sent = []
        self.envelopes = []  # (sender, recipient, international)
        self.refuse = 0

    def send(self, mail):
        if self.refuse:
            self.refuse -= 1
            raise smtplib.SMTPDataError(451, b"try again later")
        self.sent.append(email.message_from_bytes(mail.data, policy=policy.default))
        self.envelopes.append((mail.sender, mail.recipient, mail.international))


class AuthAnswers:
    """Stands in for auth's ``prepare_mail_recipients``: the same manager for every
    community; initial credentials handed out from ``issued`` while they last."""

    def __init__(self, recipient: dict, issued=()):
        self.recipient = recipient
        self.issued = iter(issued)
        self.calls = []
        self.failure = None  # raised instead of answering
        self.unknown = set()  # communities that do not exist

    def __call__(self, mails):
        self.calls.append(mails)
        if self.failure:
            raise self.failure
        return [None if mail["community_id"] in self.unknown else
                {"recipient": dict(self.recipient), "credentials": next(self.issued, None) if mail["credentials"] else None}
                for mail in mails]


RECIPIENT = {"community_id": "zonnedelen-gent", "community_name": "Zonnedelen Gent", "manager_id": "m1",
             "email": "beheer@example.be", "login": "beheer@example.be", "has_own_password": False}


@pytest.fixture
def session(open_session):
    return open_session("notify")


@pytest.fixture
def mailer():
    return RecordingMailer()


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def auth():
    return AuthAnswers(RECIPIENT, [{"login": "beheer@example.be", "password": "abcd-efgh-jkmn-pqrs"}])


@pytest.fixture
def turn():
    return Turn()


@pytest.fixture
def notify(session, mailer, clock, auth, turn):
    settings = NotifySettings.load({"PUBLIC_BASE_URL": BASE_URL, "DELIVERY_RETRY_SECONDS": "10"})
    service = worker_factory(NotifyService, db=session, mailer=mailer, clock=clock, settings=settings, turn=turn,
                             outbox=Emitter(session, OutboxMessage))
    service.auth.prepare_mail_recipients.side_effect = auth
    return service


def event(**overrides):
    fields = dict(
        file_id=str(uuid.uuid4()), community_id="zonnedelen-gent", name="correcties-2026-10.csv", size=1_250_000,
        sha256="a" * 64, kind="periodic", shared_by="Fluvius", published_at=NOW.isoformat(),
        expires_at="2026-12-25T23:00:00+00:00",  # 26-12 00:00 in Brussels
    )
    fields.update(overrides)
    return FILE_PUBLISHED.build(**fields)


def test_first_mail_carries_login_password_link_and_date(notify, mailer):
    published = event()
    notify.on_file_published(published)
    (message,) = mailer.sent
    assert message["To"] == "beheer@example.be"
    assert "no-reply@fluvius.be" in message["From"]
    text = plain_text(message)
    assert f"{BASE_URL}/files/{published['file_id']}\n" in text
    assert "beschikbaar tot en met 25-12-2026." in text
    assert "beschikbaar tot en met <strong>25-12-2026</strong>" in html(message)
    assert "periodiek bestand" in text
    assert "1,25 MB" in text
    assert "078 35 35 34" in text
    assert credentials_in(message) == {"login": "beheer@example.be", "password": "abcd-efgh-jkmn-pqrs"}
    assert "abcd-efgh-jkmn-pqrs" in html(message)


def test_later_mails_carry_no_credentials(notify, mailer):
    notify.on_file_published(event())
    notify.on_file_published(event())
    assert [bool(credentials_in(m)) for m in mailer.sent] == [True, False]
    assert "Wachtwoord:" not in plain_text(mailer.sent[1])
    assert "abcd-efgh-jkmn-pqrs" not in plain_text(mailer.sent[1]) + html(mailer.sent[1])


def test_a_manager_who_has_not_chosen_a_password_is_not_told_to_use_their_own(notify, mailer):
    notify.on_file_published(event())
    notify.on_file_published(event())  # the manager has not logged in yet
    for body in (" ".join(plain_text(mailer.sent[1]).split()), html(mailer.sent[1])):
        assert "eigen wachtwoord" in body and "uw eigen wachtwoord" not in body
        assert "initiële wachtwoord uit onze eerste e-mail" in body
        assert "Wachtwoord vergeten?" in body


def test_a_manager_with_an_own_password_is_told_to_use_it(notify, mailer, auth):
    notify.on_file_published(event())
    auth.recipient = {**RECIPIENT, "has_own_password": True}  # logged in and chose one since
    notify.on_file_published(event())
    for body in (plain_text(mailer.sent[1]), html(mailer.sent[1])):
        assert "Meld u aan met uw login en uw eigen wachtwoord." in body
        assert "initiële" not in body


def test_an_ad_hoc_file_is_called_ad_hoc_communicatie_with_its_size_in_bytes(notify, mailer):
    notify.on_file_published(event(kind="adhoc", name="mededeling.pdf", size=512))
    text = plain_text(mailer.sent[0])
    assert "mededeling.pdf (512 B, ad-hoc communicatie)" in text
    assert "512 B &middot; ad-hoc communicatie" in html(mailer.sent[0])


def test_a_redelivered_event_sends_nothing_twice(notify, mailer, session):
    published = event()
    notify.on_file_published(published)
    notify.on_file_published(dict(published))
    assert len(mailer.sent) == 1
    assert session.query(Delivery).count() == 1


def test_html_part_escapes_what_it_shows(notify, mailer, auth):
    auth.recipient["community_name"] = "<script>alert(1)</script>"
    notify.on_file_published(event(name="<img src=x onerror=alert(1)>.csv"))
    body = html(mailer.sent[0])
    assert "<script>" not in body and "<img" not in body
    assert "&lt;script&gt;" in body


def test_a_refused_send_is_retried_with_the_same_password_then_forgotten(notify, mailer, session, clock, auth):
    mailer.refuse = 1
    notify.on_file_published(event())
    assert mailer.sent == []
    delivery = session.query(Delivery).one()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "SMTP 451")
    assert "abcd-efgh-jkmn-pqrs" not in delivery.last_error

    notify.retry_due_deliveries()  # not due yet
    assert mailer.sent == []
    clock.advance(seconds=11)
    notify.retry_due_deliveries()
    (message,) = mailer.sent
    assert credentials_in(message)["password"] == "abcd-efgh-jkmn-pqrs"
    assert len(auth.calls) == 1  # the retry did not ask auth again
    session.expire_all()
    delivery = session.query(Delivery).one()
    assert delivery.status == "sent"
    assert delivery.body_text is None and delivery.body_html is None


def test_backoff_grows_and_is_capped(notify, mailer, session, clock):
    mailer.refuse = 100
    notify.on_file_published(event())
    delays = []
    for _ in range(12):
        delivery = session.query(Delivery).one()
        delays.append((delivery.next_attempt_at - clock.now()).total_seconds())
        clock.at = delivery.next_attempt_at
        notify.retry_due_deliveries()
        session.expire_all()
    assert delays[:3] == [10, 20, 40]
    assert max(delays) == 3600


def test_auth_unavailable_postpones_without_losing_the_delivery(notify, mailer, session, clock, auth):
    auth.failure = ServiceUnavailable("auth did not answer")
    notify.on_file_published(event())
    assert session.query(Delivery).one().status == "pending"
    auth.failure = None
    clock.advance(seconds=11)
    notify.retry_due_deliveries()
    assert len(mailer.sent) == 1


def test_a_vanished_community_is_marked_undeliverable(notify, mailer, session, auth):
    auth.unknown.add("zonnedelen-gent")
    notify.on_file_published(event())
    assert session.query(Delivery).one().status == "undeliverable"
    assert mailer.sent == []


def test_malformed_events_are_dropped_without_a_delivery(notify, mailer, session):
    notify.on_file_published({"event_id": "x", "version": 1})
    assert session.query(Delivery).count() == 0 and mailer.sent == []


def test_delivery_status_for_the_operator(notify):
    published = event()
    notify.on_file_published(published)
    (status,) = notify.get_delivery_status(published["event_id"])
    assert status["status"] == "sent" and status["carries_credentials"] is True


# --- the month-end: a backlog sent in batches -----------------------------------------------

def test_while_another_worker_sends_a_handler_only_records(notify, mailer, session, turn):
    turn.running = True  # another worker of this process is sending
    notify.on_file_published(event())
    delivery = session.query(Delivery).one()
    assert (delivery.status, delivery.lease_until, delivery.body_text) == ("pending", None, None)
    assert mailer.sent == [] and turn.asked  # that worker goes round once more


def test_a_backlog_asks_auth_once_per_batch_and_sends_every_mail(notify, mailer, session, turn, auth):
    turn.running = True
    published = [event(community_id=f"ec-{n}") for n in range(5)]
    for payload in published:
        notify.on_file_published(payload)
    turn.running = False
    notify.retry_due_deliveries()
    assert len(auth.calls) == 1
    assert [mail["community_id"] for mail in auth.calls[0]] == [f"ec-{n}" for n in range(5)]
    assert all(mail["credentials"] for mail in auth.calls[0])
    assert sorted(links_in(m, BASE_URL)[0] for m in mailer.sent) == sorted(
        f"{BASE_URL}/files/{p['file_id']}" for p in published)
    assert [bool(credentials_in(m)) for m in mailer.sent].count(True) == 1
    session.expire_all()
    assert {(d.status, d.body_text, d.lease_until) for d in session.query(Delivery)} == {("sent", None, None)}


def test_a_batch_larger_than_one_claim_goes_out_over_several(notify, mailer, session, turn, auth, monkeypatch):
    monkeypatch.setattr(sending, "BATCH", 2)
    turn.running = True
    for n in range(5):
        notify.on_file_published(event(community_id=f"ec-{n}"))
    turn.running = False
    notify.retry_due_deliveries()
    assert [len(call) for call in auth.calls] == [2, 2, 1]
    assert len(mailer.sent) == 5


def test_a_sender_takes_its_next_message_only_once_the_last_is_recorded(notify, mailer, session, turn, monkeypatch):
    """So a crash resends at most one message per SMTP connection; and an error while
    recording stops the senders (nothing more is started) instead of leaving them hanging."""
    turn.running = True
    for n in range(12):
        notify.on_file_published(event(community_id=f"ec-{n}"))
    turn.running = False

    def broken(session, sent, now):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(deliveries, "mark_sent", broken)
    with pytest.raises(RuntimeError):
        notify.retry_due_deliveries()
    assert 1 <= len(mailer.sent) <= notify.settings.smtp_connections  # one each, then nothing more


def test_past_the_send_window_the_rest_of_a_batch_is_given_back_untried(notify, mailer, session, turn,
                                                                        monkeypatch):
    """A sender that is slow (a hanging mail server) must not outlive its lease."""
    monkeypatch.setattr(sending, "SEND_WINDOW_SECONDS", -1)
    monkeypatch.setattr(sending, "TURN_SECONDS", 0.2)
    notify.on_file_published(event())
    assert mailer.sent == []
    delivery = session.query(Delivery).one()
    assert (delivery.status, delivery.attempts, delivery.lease_until) == ("pending", 0, None)
    assert delivery.body_text is not None  # prepared: the same message goes out next time


def test_an_unknown_community_in_a_batch_does_not_hold_up_the_others(notify, mailer, session, turn, auth):
    auth.unknown.add("ec-1")
    turn.running = True
    for n in range(3):
        notify.on_file_published(event(community_id=f"ec-{n}"))
    turn.running = False
    notify.retry_due_deliveries()
    assert len(mailer.sent) == 2
    assert {d.community_id: d.status for d in session.query(Delivery)} == {
        "ec-0": "sent", "ec-1": "undeliverable", "ec-2": "sent"}


def test_the_turn_goes_round_again_when_asked_while_it_runs():
    turn, runs = Turn(), []

    def send():
        runs.append(len(runs))
        if len(runs) == 1:
            turn.take(send)  # a handler recorded a delivery meanwhile: it does not send itself
    turn.take(send)
    assert runs == [0, 1] and not turn.running


def test_a_permanent_refusal_marks_the_delivery_failed_at_once(session, clock, auth, turn, mail_sink):
    """The mail server answers 550 (the dev sink with --refuse-first): no retry, no message kept."""
    mail_sink.restart(0, "--refuse-first", "1")
    settings = NotifySettings.load({"PUBLIC_BASE_URL": BASE_URL, "DELIVERY_RETRY_SECONDS": "10"})
    mailer = SmtpMailer("127.0.0.1", mail_sink.port, timeout=5)
    notify = worker_factory(NotifyService, db=session, mailer=mailer, clock=clock, settings=settings, turn=turn,
                            outbox=Emitter(session, OutboxMessage))
    notify.auth.prepare_mail_recipients.side_effect = auth
    failed = REGISTRY.get_sample_value("energiepost_deliveries_total",
                                       {"kind": "file_published", "outcome": "failed"}) or 0.0
    notify.on_file_published(event())
    delivery = session.query(Delivery).one()
    assert (delivery.status, delivery.attempts) == ("undeliverable", 0)
    assert REGISTRY.get_sample_value("energiepost_deliveries_total",
                                     {"kind": "file_published", "outcome": "failed"}) == failed + 1
    assert delivery.last_error == "not sent: refused: SMTP 550"
    assert delivery.body_text is None and delivery.body_html is None  # the initial password is gone
    clock.advance(seconds=3600)
    notify.retry_due_deliveries()
    mailer.close()
    assert mail_sink.messages() == []


def test_a_temporary_refusal_from_the_real_server_is_retried(session, clock, auth, turn, mail_sink):
    mail_sink.restart(fail_first=1)
    settings = NotifySettings.load({"PUBLIC_BASE_URL": BASE_URL, "DELIVERY_RETRY_SECONDS": "10"})
    mailer = SmtpMailer("127.0.0.1", mail_sink.port, timeout=5)
    notify = worker_factory(NotifyService, db=session, mailer=mailer, clock=clock, settings=settings, turn=turn,
                            outbox=Emitter(session, OutboxMessage))
    notify.auth.prepare_mail_recipients.side_effect = auth
    notify.on_file_published(event())
    assert session.query(Delivery).one().last_error == "SMTP 451"
    clock.advance(seconds=11)
    notify.retry_due_deliveries()
    mailer.close()
    (message,) = mail_sink.wait_for(1)
    assert credentials_in(message)["password"] == "abcd-efgh-jkmn-pqrs"
