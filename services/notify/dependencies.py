"""notify's I/O: the SMTP server and the SMS gateway."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

import requests
from nameko.extensions import DependencyProvider

from shared.settings import UsesSettings


class SmtpMailer:
    """Hands a message to the configured SMTP server; raises if it is not accepted."""

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


class Mailer(UsesSettings, DependencyProvider):
    def setup(self):
        self.mailer = SmtpMailer(self.settings.smtp_host, self.settings.smtp_port)

    def get_dependency(self, worker_ctx):
        return self.mailer


class HttpSmsGateway:
    """POSTs ``{"to", "body"}`` as JSON to the configured SMS gateway; raises unless accepted."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url, self.timeout = url, timeout

    def send(self, to: str, body: str) -> None:
        response = requests.post(self.url, json={"to": to, "body": body}, timeout=self.timeout)
        response.raise_for_status()


class SmsGateway(UsesSettings, DependencyProvider):
    def setup(self):
        self.gateway = HttpSmsGateway(self.settings.sms_gateway_url)

    def get_dependency(self, worker_ctx):
        return self.gateway
