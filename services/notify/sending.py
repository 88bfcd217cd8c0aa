"""Carrying one delivery through: prepare once (asking auth for what it holds), send,
record the outcome.

Secrets — an initial password, an SMS code, a reset link — are asked for only when
the message is prepared, kept in the rendered message until the mail server or SMS
gateway accepts it (so a retry sends the same secret), and then wiped.
"""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from services.notify import deliveries, messages
from services.notify.models import UNDELIVERABLE, Delivery
from shared.errors import NotFound

log = logging.getLogger(__name__)


class NothingToSend(Exception):
    """The message is no longer wanted (a newer code was asked for, a link was used)."""


def prepare_file_published(delivery: Delivery, *, auth, settings) -> None:
    recipient = auth.get_recipient(delivery.community_id)
    credentials = auth.issue_initial_credentials(delivery.community_id, delivery.dedupe_key)
    rendered = messages.render_file_published(delivery.data, recipient, credentials, settings)
    _fill(delivery, recipient["email"], rendered, settings)
    delivery.carries_credentials = credentials is not None


def prepare_reminder(delivery: Delivery, *, auth, settings) -> None:
    recipient = auth.get_recipient(delivery.community_id)
    _fill(delivery, recipient["email"], messages.render_reminder(delivery.data, recipient, settings), settings)


def prepare_password_reset(delivery: Delivery, *, auth, settings) -> None:
    issued = auth.issue_reset_token(delivery.data["reset_id"], delivery.dedupe_key)
    if issued is None:
        raise NothingToSend("the reset was used or has expired")
    _fill(delivery, issued["email"], messages.render_password_reset(issued, settings), settings)
    delivery.carries_credentials = True


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
    prepare: Callable
    send: Callable
    retry_base_seconds: float | None = None  # None: the DELIVERY_RETRY_SECONDS setting
    max_age: timedelta | None = None  # past this, sending is pointless


KINDS = {
    "file_published": Kind(prepare_file_published, send_email),
    "files_expiring": Kind(prepare_reminder, send_email),
    "password_reset_requested": Kind(prepare_password_reset, send_email),
    "sms_code_requested": Kind(prepare_sms_code, send_sms, retry_base_seconds=2, max_age=timedelta(minutes=5)),
}


def attempt(session, delivery: Delivery, *, auth, mailer, sms, settings, now) -> bool:
    """One attempt at a claimed delivery; commits its outcome.  True when sent."""
    kind = KINDS[delivery.kind]
    try:
        if kind.max_age is not None and now - delivery.created_at > kind.max_age:
            raise NothingToSend("too late to be of use")
        if delivery.body_text is None:
            kind.prepare(delivery, auth=auth, settings=settings)
            session.commit()  # keep the prepared message before trying to send it
        kind.send(delivery, mailer=mailer, sms=sms, settings=settings, now=now)
    except (NotFound, NothingToSend) as exc:
        session.rollback()
        _give_up(session, delivery, now, str(exc))
        _report(delivery, auth, delivered=False)
        return False
    except Exception as exc:
        session.rollback()
        reason = _describe(exc)
        deliveries.postpone(delivery, now, reason, kind.retry_base_seconds or settings.delivery_retry_seconds)
        session.commit()
        log.warning("delivery %s failed (attempt %d), will retry: %s", delivery.dedupe_key, delivery.attempts, reason)
        return False
    deliveries.mark_sent(delivery, now)
    session.commit()
    log.info("delivery %s sent", delivery.dedupe_key)
    _report(delivery, auth, delivered=True)
    return True


def _give_up(session, delivery: Delivery, now, reason: str) -> None:
    delivery.status = UNDELIVERABLE
    delivery.last_error = f"not sent: {reason}"[:500]
    delivery.lease_until = None
    delivery.body_text = delivery.body_html = None
    session.commit()
    log.warning("delivery %s not sent: %s", delivery.dedupe_key, reason)


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
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "SMTP recipient refused"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        return f"SMS gateway answered {status}"
    return f"{type(exc).__name__}: {exc}"[:300]
