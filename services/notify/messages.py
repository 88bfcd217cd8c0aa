"""Rendering e-mails (Jinja2, autoescaped HTML plus plain text) and building MIME."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from shared.formatting import local, template_environment

_COMPAT32_SMTP = policy.compat32.clone(linesep="\r\n")  # SMTP wants CRLF line ends

env = template_environment(Path(__file__).parent / "templates", keep_trailing_newline=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(template: str, **context) -> Rendered:
    """Render ``mail/<template>.{subject,txt,html}`` with the same context."""
    subject = env.get_template(f"mail/{template}.subject").render(**context)
    return Rendered(
        subject=" ".join(subject.split()),
        text=env.get_template(f"mail/{template}.txt").render(**context),
        html=env.get_template(f"mail/{template}.html").render(**context),
    )


def render_file_published(event: dict, recipient: dict, credentials: dict | None, settings) -> Rendered:
    return render(
        "file_published",
        file=event,
        link=f"{settings.public_base_url}/files/{event['file_id']}",
        community_name=recipient["community_name"],
        credentials=credentials,
        has_own_password=recipient["has_own_password"],
        operator=settings.operator_name,
        helpline=settings.helpline,
        retention_days=settings.retention_days,
    )


def render_credentials(recipient: dict, credentials: dict, settings) -> Rendered:
    return render(
        "credentials_reissued",
        link=f"{settings.public_base_url}/login",
        community_name=recipient["community_name"],
        credentials=credentials,
        operator=settings.operator_name,
        helpline=settings.helpline,
    )


def render_reminder(event: dict, recipient: dict, settings) -> Rendered:
    files = sorted(event["files"], key=lambda f: (f["expires_at"], f["name"]))
    return render(
        "files_expiring",
        files=files,
        never_downloaded=[f for f in files if not f["downloaded"]],
        link=f"{settings.public_base_url}/files",
        community_name=recipient["community_name"],
        operator=settings.operator_name,
        helpline=settings.helpline,
        retention_days=settings.retention_days,
    )


def render_retraction(event: dict, recipient: dict, settings) -> Rendered:
    return render(
        "file_retracted",
        file=event,
        link=f"{settings.public_base_url}/files",
        community_name=recipient["community_name"],
        operator=settings.operator_name,
        helpline=settings.helpline,
    )


def render_password_reset(issued: dict, settings) -> Rendered:
    return render(
        "password_reset",
        link=f"{settings.public_base_url}/reset#{issued['token']}",  # after "#": in no log, no Referer
        reset_page=f"{settings.public_base_url}/reset",
        code=issued["token"],
        login=issued["login"],
        valid_until=local(issued["expires_at"]).strftime("%H:%M"),
        operator=settings.operator_name,
        helpline=settings.helpline,
    )


def render_account_locked(event: dict, notice: dict, settings) -> Rendered:
    """To the manager whose logins were locked: when, from which devices, and what to do."""
    return render(
        "account_locked",
        login=notice["login"],
        locked_at=local(event["occurred_at"]).strftime("%-d-%-m-%Y om %H:%M"),
        trusted=event["stream"] == "trusted",
        forgot_link=f"{settings.public_base_url}/forgot",
        operator=settings.operator_name,
        helpline=settings.helpline,
    )


def render_sms_code(issued: dict, settings) -> str:
    return " ".join(env.get_template("sms/code.txt").render(
        code=issued["code"], minutes=issued["valid_minutes"], operator=settings.operator_name).split())


@dataclass(frozen=True)
class Email:
    """A message as the mail server gets it: the envelope and the MIME bytes."""

    sender: str
    recipient: str
    data: bytes
    international: bool  # an address beyond ASCII: the server must take it with SMTPUTF8


def build_email(*, sender_name: str, sender: str, recipient: str, rendered: Rendered,
                message_id: str, now: datetime) -> Email:
    """A plain-text and an HTML part (UTF-8, base64) with the usual headers.

    Built with the email package's compat32 classes, whose headers are plain strings:
    the modern ``EmailMessage`` parses every header it is given, which made building a
    message three times as costly — at month-end most of notify's work.  An address
    beyond ASCII needs its headers in UTF-8 (RFC 6532): the SMTPUTF8 policy writes those.
    """
    # "=_" never occurs in base64: the boundary cannot clash with a part (the email
    # package would otherwise search both parts for a random boundary of its own).
    message = MIMEMultipart("alternative", boundary=f"=_{uuid.uuid4().hex}")
    message["From"] = formataddr((sender_name, sender))
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "nl-BE"
    message.attach(MIMEText(rendered.text, "plain", "utf-8"))
    message.attach(MIMEText(rendered.html, "html", "utf-8"))
    international = not (sender.isascii() and recipient.isascii())
    data = message.as_bytes(policy=policy.SMTPUTF8 if international else _COMPAT32_SMTP)
    return Email(sender, recipient, data, international)


def new_message_id(sender: str) -> str:
    return make_msgid(domain=sender.rpartition("@")[2] or None)
