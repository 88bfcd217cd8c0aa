"""notify's I/O: the SMTP server and the SMS gateway; and one sender at a time."""
from __future__ import annotations

import smtplib

import requests
from nameko.extensions import DependencyProvider

from services.notify.messages import Email
from shared.settings import UsesSettings


class SmtpMailer:
    """Hands messages to the configured SMTP server; raises if one is not accepted.

    Connections are kept open for the next message (several when messages are sent
    side by side); one that failed is closed, and the next message opens a new one."""

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.idle: list[smtplib.SMTP] = []

    def send(self, email: Email) -> None:
        smtp = self.idle.pop() if self.idle else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        options = ("SMTPUTF8", "BODY=8BITMIME") if email.international else ()
        try:
            smtp.sendmail(email.sender, [email.recipient], email.data, mail_options=options)
        except Exception:
            _close(smtp)  # refused or broken: start afresh
            raise
        self.idle.append(smtp)

    def close(self) -> None:
        while self.idle:
            _close(self.idle.pop())


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:
        smtp.close()


class Mailer(UsesSettings, DependencyProvider):
    """SMTP connections per worker: a sender's batches reuse them."""

    def setup(self):
        self.mailers: dict = {}

    def get_dependency(self, worker_ctx):
        mailer = self.mailers[worker_ctx] = SmtpMailer(self.settings.smtp_host, self.settings.smtp_port)
        return mailer

    def worker_teardown(self, worker_ctx):
        mailer = self.mailers.pop(worker_ctx, None)
        if mailer is not None:
            mailer.close()


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


class Turn:
    """One sender at a time in a process: ``take(send)`` runs ``send`` unless another
    worker is running it already; asked meanwhile, that worker runs it once more, so
    nothing recorded while it finished waits for the next tick."""

    def __init__(self):
        self.running = False
        self.asked = False

    def take(self, send) -> None:
        self.asked = True
        if self.running:
            return
        self.running = True
        try:
            while self.asked:
                self.asked = False
                send()
        finally:
            self.running = False


class SenderTurn(DependencyProvider):
    def setup(self):
        self.turn = Turn()

    def get_dependency(self, worker_ctx):
        return self.turn
