"""Carrying deliveries through: prepare once (asking auth for what it holds), send,
record each outcome.

A sender takes due deliveries in batches: one RPC to auth gives the recipients
(and any initial credentials) of all the batch's e-mails, one commit keeps the
prepared messages, a few SMTP connections carry them, and what they report is
recorded as it comes in — while the next batch is already being prepared.

Secrets — an initial password, an SMS code, a reset link — are asked for only when
the message is prepared, kept in the rendered message until the mail server or SMS
gateway accepts it (so a retry sends the same secret), and then wiped.
"""
from __future__ import annotations

import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import eventlet
from eventlet.event import Event
from eventlet.queue import LightQueue

from services.notify import deliveries, messages
from services.notify.models import UNDELIVERABLE, Delivery
from services.notify.sms_providers import Rejected
from shared import contract, correlation, metrics
from shared.errors import NotFound
from shared.outbox import Emitter

log = logging.getLogger(__name__)

BATCH = 50
# Past this, a sender starts no more sends from its batch and gives the rest back:
# its lease (deliveries.LEASE) must not run out while it still sends.
SEND_WINDOW_SECONDS = deliveries.LEASE.total_seconds() / 2
TURN_SECONDS = 5.0  # a sender goes back to its caller after this; the next kick or tick goes on


class NothingToSend(Exception):
    """The message is no longer wanted (a newer code was asked for, a link was used)."""


def render_file_published(delivery: Delivery, recipient: dict, credentials: dict | None, settings):
    return messages.render_file_published(delivery.data, recipient, credentials, settings)


def render_reminder(delivery: Delivery, recipient: dict, credentials: dict | None, settings):
    return messages.render_reminder(delivery.data, recipient, settings)


def render_retraction(delivery: Delivery, recipient: dict, credentials: dict | None, settings):
    return messages.render_retraction(delivery.data, recipient, settings)


def render_credentials(delivery: Delivery, recipient: dict, credentials: dict | None, settings):
    if credentials is None:  # the manager chose a password meanwhile, or newer credentials were asked for
        raise NothingToSend("no new initial password is due any more")
    return messages.render_credentials(recipient, credentials, settings)


def prepare_password_reset(delivery: Delivery, *, auth, settings) -> None:
    issued = auth.issue_reset_token(delivery.data["reset_id"], delivery.dedupe_key)
    if issued is None:
        raise NothingToSend("the reset was used or has expired")
    _fill(delivery, issued["email"], messages.render_password_reset(issued, settings), settings)
    delivery.carries_credentials = True


def prepare_account_locked(delivery: Delivery, *, auth, settings) -> None:
    notice = auth.get_lock_notice(delivery.data["manager_id"])
    if notice is None:
        raise NothingToSend("the manager no longer exists")
    _fill(delivery, notice["email"], messages.render_account_locked(delivery.data, notice, settings), settings)


def prepare_sms_code(delivery: Delivery, *, auth, settings) -> None:
    issued = auth.issue_sms_code(delivery.data["attempt_id"], delivery.data["event_id"])
    if issued is None:
        raise NothingToSend("a newer code was asked for, or the login ended")
    delivery.recipient = issued["to"]
    delivery.body_text = messages.render_sms_code(issued, settings)
    delivery.carries_credentials = True


def _fill(delivery: Delivery, email: str, rendered: messages.Rendered, settings) -> None:
    delivery.recipient = email
    delivery.subject = rendered.subject
    delivery.body_text = rendered.text
    delivery.body_html = rendered.html
    delivery.message_id = messages.new_message_id(settings.mail_from)


def send_email(delivery: Delivery, *, mailer, sms, settings, now) -> None:
    mailer.send(messages.build_email(
        sender_name=settings.operator_name, sender=settings.mail_from, recipient=delivery.recipient,
        rendered=messages.Rendered(delivery.subject, delivery.body_text, delivery.body_html),
        message_id=delivery.message_id, now=now,
    ))


def send_sms(delivery: Delivery, *, mailer, sms, settings, now) -> None:
    sms.send(delivery.recipient, delivery.body_text)


@dataclass(frozen=True)
class Kind:
    send: Callable
    # E-mails to a community's manager: auth names the recipients of a whole batch at once.
    render: Callable | None = None  # (delivery, recipient, credentials, settings) -> Rendered
    credentials: bool = False  # the first such e-mail to a manager carries an initial password
    # Anything else asks auth itself, one at a time.
    prepare: Callable | None = None  # (delivery, *, auth, settings)
    retry_base_seconds: float | None = None  # None: the DELIVERY_RETRY_SECONDS setting
    max_age: timedelta | None = None  # past this, sending is pointless
    at_once: bool = False  # someone is waiting for it: sent by the handler, not queued behind others


KINDS = {
    "file_published": Kind(send_email, render=render_file_published, credentials=True),
    "files_expiring": Kind(send_email, render=render_reminder),
    "file_retracted": Kind(send_email, render=render_retraction),
    "credentials_reissued": Kind(send_email, render=render_credentials, credentials=True),
    "password_reset_requested": Kind(send_email, prepare=prepare_password_reset, at_once=True),
    "account_locked": Kind(send_email, prepare=prepare_account_locked, at_once=True),
    "sms_code_requested": Kind(send_sms, prepare=prepare_sms_code, retry_base_seconds=2,
                               max_age=timedelta(minutes=5), at_once=True),
}


def send_due(session, *, auth, mailer, sms, settings, clock, outbox: Emitter) -> int:
    """Send due deliveries, a batch at a time, until none is due or the turn is over."""
    started = time.monotonic()

    def claimed():
        while time.monotonic() - started < TURN_SECONDS:
            batch = deliveries.claim_due(session, clock.now(), BATCH)
            if not batch:
                return
            yield batch

    return send_batches(session, claimed(), auth=auth, mailer=mailer, sms=sms, settings=settings, clock=clock,
                        outbox=outbox)


def send_batches(session, batches, *, auth, mailer, sms, settings, clock, outbox: Emitter) -> int:
    """Prepare, send and record claimed deliveries, batch after batch; returns how many were sent.

    SMTP_CONNECTIONS senders (green threads, no database) carry the prepared messages;
    this thread does all the database work meanwhile, so the mail connections seldom wait
    for it: the next batch is claimed and prepared while the senders still carry the
    last one, and the outcomes that came back are recorded in one commit.  A sender
    takes its next message only once the outcome of its last is recorded, so a crash can
    resend at most one message per connection (accepted, not yet recorded)."""
    waiting, outcomes = LightQueue(), LightQueue()
    stopping = False

    def carry():
        while (item := waiting.get()) is not None:
            recorded = Event()
            outcomes.put((_attempt(*item, mailer=mailer, sms=sms, settings=settings), recorded))
            if not stopping:
                recorded.wait()

    senders = [eventlet.spawn(carry) for _ in range(settings.smtp_connections)]
    in_flight, sent, more, came = 0, 0, True, []
    try:
        while more or in_flight:
            hungry = more and waiting.qsize() <= BATCH // 2  # what is left covers a prepare
            if hungry:
                batch = next(batches, None)
                if batch is None:
                    more = False
                else:
                    now, deadline = clock.now(), time.monotonic() + SEND_WINDOW_SECONDS
                    for delivery in _prepare(session, batch, auth=auth, settings=settings, now=now):
                        waiting.put((delivery, now, deadline))
                        in_flight += 1
            came = _take(outcomes, wait=in_flight > 0 and not hungry)
            if came:
                in_flight -= len(came)
                sent += _record(session, [outcome for outcome, _ in came], auth=auth, settings=settings,
                                now=clock.now(), outbox=outbox)
                _release(came)
    finally:  # after an error: start nothing more (the leases run out), let what is on the wire finish
        stopping = True
        while not waiting.empty():
            waiting.get_nowait()
        for _ in senders:
            waiting.put(None)
        _release(came + _take(outcomes, wait=False))
        for sender in senders:
            sender.wait()
    return sent


def _release(came) -> None:
    for _, recorded in came:
        if not recorded.ready():
            recorded.send()


def _attempt(delivery: Delivery, now, deadline: float, *, mailer, sms, settings):
    """(delivery, error, tried): sent, refused or failed — or not tried, too late in the lease."""
    if time.monotonic() > deadline:
        return delivery, None, False
    try:
        KINDS[delivery.kind].send(delivery, mailer=mailer, sms=sms, settings=settings, now=now)
    except Exception as exc:
        return delivery, exc, True
    return delivery, None, True


def _take(queue: LightQueue, *, wait: bool) -> list:
    """Everything in ``queue`` now; with ``wait``, at least one item."""
    taken = [queue.get()] if wait else []
    while not queue.empty():
        taken.append(queue.get_nowait())
    return taken


def _record(session, outcomes, *, auth, settings, now, outbox: Emitter) -> int:
    """Record what the senders reported, in one commit; returns how many were sent."""
    refused, sent = [], []
    for delivery, error, tried in outcomes:
        if not tried:
            deliveries.release(delivery)
        elif error is not None and is_permanent(error):
            _give_up(delivery, f"refused: {_describe(error)}")
            refused.append(delivery)
        elif error is not None:
            _postpone(delivery, now, error, settings)
        else:
            _announce(outbox, delivery, now)
            sent.append(delivery)
    deliveries.mark_sent(session, sent, now)
    session.commit()
    for delivery in refused:
        _report(delivery, auth, delivered=False)
    for delivery in sent:
        metrics.DELIVERIES.labels(delivery.kind, "sent").inc()
        with _about(delivery):
            log.info("delivery %s sent to the %s (%s)", delivery.dedupe_key,
                     "SMS gateway" if delivery.kind == "sms_code_requested" else "mail server",
                     delivery.message_id or "no message id")
        _report(delivery, auth, delivered=True)
    return len(sent)


def _announce(outbox: Emitter, delivery: Delivery, now) -> None:
    """A file's e-mail was accepted: ``file_emailed`` for the upstream, in the same commit
    (under the publish's correlation id)."""
    if delivery.kind == contract.FILE_PUBLISHED.name:
        with _about(delivery):
            outbox.emit(contract.FILE_EMAILED, now=now, file_id=delivery.data["file_id"],
                        community_id=delivery.data["community_id"], emailed_at=now.isoformat())


# SMTP answers about the sender's own login (530 authentication required, 534/535/538):
# the configuration is wrong, not the message; retried until someone fixes it.
_AUTH_CODES = {530, 534, 535, 538}


def is_permanent(exc: Exception) -> bool:
    """A refusal that retrying will not change: the mail server's 5xx to this message's
    sender, recipient or content, or the SMS provider's refusal of the message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(500 <= code < 600 for code, _ in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        return 500 <= exc.smtp_code < 600 and exc.smtp_code not in _AUTH_CODES
    return isinstance(exc, Rejected)


def _about(delivery: Delivery):
    """Log lines about a delivery carry the correlation id of the event that asked for it."""
    return correlation.bound(correlation.valid((delivery.data or {}).get(correlation.KEY)))


def _prepare(session, batch: list[Delivery], *, auth, settings, now) -> list[Delivery]:
    """Render whatever has no message yet and keep it (one commit); returns the
    deliveries to send — the others are given up on or postponed."""
    ready, addressed = [], []
    for delivery in batch:
        kind = KINDS[delivery.kind]
        if kind.max_age is not None and now - delivery.created_at > kind.max_age:
            _give_up(delivery, "too late to be of use")
        elif delivery.body_text is not None:
            ready.append(delivery)
        elif kind.render is not None:
            addressed.append(delivery)
        else:
            try:
                kind.prepare(delivery, auth=auth, settings=settings)
            except (NotFound, NothingToSend) as exc:
                _give_up(delivery, str(exc))
            except Exception as exc:
                _postpone(delivery, now, exc, settings)
            else:
                ready.append(delivery)
    if addressed:
        ready += _address(addressed, auth=auth, settings=settings, now=now)
    session.commit()  # keep the prepared messages before trying to send them
    for delivery in batch:
        if delivery.status == UNDELIVERABLE:
            _report(delivery, auth, delivered=False)
    return ready


def _address(batch: list[Delivery], *, auth, settings, now) -> list[Delivery]:
    """Ask auth for the recipients of the e-mails in one call, then render them."""
    try:
        answers = auth.prepare_mail_recipients([
            {"community_id": delivery.community_id, "ref": delivery.dedupe_key,
             "credentials": KINDS[delivery.kind].credentials}
            for delivery in batch
        ])
    except Exception as exc:
        for delivery in batch:
            _postpone(delivery, now, exc, settings)
        return []
    ready = []
    for delivery, answer in zip(batch, answers, strict=True):
        if answer is None:
            _give_up(delivery, f"unknown community {delivery.community_id!r}")
            continue
        credentials = answer["credentials"]
        try:
            rendered = KINDS[delivery.kind].render(delivery, answer["recipient"], credentials, settings)
        except NothingToSend as exc:
            _give_up(delivery, str(exc))
            continue
        except Exception as exc:  # auth asked again for this delivery issues a fresh password
            _postpone(delivery, now, exc, settings)
            continue
        _fill(delivery, answer["recipient"]["email"], rendered, settings)
        delivery.carries_credentials = credentials is not None
        ready.append(delivery)
    return ready


def _give_up(delivery: Delivery, reason: str) -> None:
    delivery.status = UNDELIVERABLE
    delivery.last_error = f"not sent: {reason}"[:500]
    delivery.lease_until = None
    delivery.body_text = delivery.body_html = None
    metrics.DELIVERIES.labels(delivery.kind, "failed").inc()
    with _about(delivery):
        log.warning("delivery %s not sent: %s", delivery.dedupe_key, reason)


def _postpone(delivery: Delivery, now, exc: Exception, settings) -> None:
    reason = _describe(exc)
    deliveries.postpone(delivery, now, reason,
                        KINDS[delivery.kind].retry_base_seconds or settings.delivery_retry_seconds)
    metrics.DELIVERIES.labels(delivery.kind, "retried").inc()
    with _about(delivery):
        log.warning("delivery %s failed (attempt %d), will retry: %s", delivery.dedupe_key, delivery.attempts,
                    reason)


def _report(delivery: Delivery, auth, *, delivered: bool) -> None:
    """auth keeps the audit trail of codes sent and failed."""
    if delivery.kind != "sms_code_requested":
        return
    try:
        auth.report_code_delivery(delivery.data["attempt_id"], delivered)
    except Exception:
        log.warning("could not report the code delivery %s to auth", delivery.dedupe_key)


def _describe(exc: Exception) -> str:
    """What went wrong, without message content (it may hold a secret)."""
    if isinstance(exc, Rejected):
        return str(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "SMTP recipient refused"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        return f"SMS gateway answered {status}"
    return f"{type(exc).__name__}: {exc}"[:300]
