"""notify's I/O: the SMTP connection."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from nameko.extensions import DependencyProvider

from shared.settings import container_settings


class SmtpMailer:
    """Hands a message to the configured SMTP server; raises if it is not accepted."""

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


class Mailer(DependencyProvider):
    def setup(self):
        settings = container_settings(self.container)
        self.mailer = SmtpMailer(settings.smtp_host, settings.smtp_port)

    def get_dependency(self, worker_ctx):
        return self.mailer
