"""Carrying one delivery through: render once (asking auth), send, record the outcome."""
from __future__ import annotations

import logging
import smtplib

from services.notify import deliveries, messages
from services.notify.models import UNDELIVERABLE, Delivery
from shared.errors import NotFound

log = logging.getLogger(__name__)


def prepare_file_published(delivery: Delivery, *, auth, settings) -> None:
    """Fill in recipient and message, once.  A retry sends exactly this message,
    so an initial password is asked for (and issued) only here."""
    recipient = auth.get_recipient(delivery.community_id)
    credentials = auth.issue_initial_credentials(delivery.community_id, delivery.dedupe_key)
    rendered = messages.render_file_published(delivery.data, recipient, credentials, settings)
    delivery.recipient = recipient["email"]
    delivery.subject = rendered.subject
    delivery.body_text = rendered.text
    delivery.body_html = rendered.html
    delivery.carries_credentials = credentials is not None
    delivery.message_id = messages.new_message_id(settings.mail_from)


PREPARERS = {"file_published": prepare_file_published}


def attempt(session, delivery: Delivery, *, auth, mailer, settings, now) -> bool:
    """One attempt at a claimed delivery; commits its outcome.  True when sent."""
    try:
        if delivery.body_text is None:
            PREPARERS[delivery.kind](delivery, auth=auth, settings=settings)
            session.commit()  # keep the rendered message before trying to send it
        mailer.send(
            messages.build_email(
                sender_name=settings.operator_name,
                sender=settings.mail_from,
                recipient=delivery.recipient,
                rendered=messages.Rendered(delivery.subject, delivery.body_text, delivery.body_html),
                message_id=delivery.message_id,
                now=now,
            )
        )
    except NotFound as exc:
        # The community is gone: nobody to send to. Keep the record, stop retrying.
        session.rollback()
        deliveries.postpone(delivery, now, f"not sendable: {exc}", settings.delivery_retry_seconds)
        delivery.status = UNDELIVERABLE
        session.commit()
        log.warning("delivery %s is undeliverable: %s", delivery.dedupe_key, exc)
        return False
    except Exception as exc:
        session.rollback()
        reason = _describe(exc)
        deliveries.postpone(delivery, now, reason, settings.delivery_retry_seconds)
        session.commit()
        log.warning("delivery %s failed (attempt %d), will retry: %s", delivery.dedupe_key, delivery.attempts, reason)
        return False
    deliveries.mark_sent(delivery, now)
    session.commit()
    log.info("delivery %s sent", delivery.dedupe_key)
    return True


def _describe(exc: Exception) -> str:
    """What went wrong, without message content (it may hold a password)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "SMTP recipient refused"
    return f"{type(exc).__name__}: {exc}"[:300]
