"""Rendering e-mails (Jinja2, autoescaped HTML plus plain text) and building MIME."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from shared.formatting import local, template_environment

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


def render_sms_code(issued: dict, settings) -> str:
    return " ".join(env.get_template("sms/code.txt").render(
        code=issued["code"], minutes=issued["valid_minutes"], operator=settings.operator_name).split())


def build_email(*, sender_name: str, sender: str, recipient: str, rendered: Rendered,
                message_id: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((sender_name, sender))
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "nl-BE"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def new_message_id(sender: str) -> str:
    return make_msgid(domain=sender.rpartition("@")[2] or None)
