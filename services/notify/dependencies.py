"""notify's I/O: the SMTP server and the SMS gateway; and one sender at a time."""
from __future__ import annotations

import smtplib
import ssl

from nameko.extensions import DependencyProvider

from services.notify import sms_providers
from services.notify.messages import Email
from shared.settings import UsesSettings


class SmtpMailer:
    """Hands messages to the configured SMTP server; raises if one is not accepted.

    ``security``: ``starttls`` (upgrade the connection before anything else, and insist on
    it), ``tls`` (TLS from the first byte, usually port 465) or ``none``.  The server's
    certificate is checked against the system's CAs or ``ca_file``.  With a username the
    mailer logs in (only ever over TLS unless security is ``none``).

    Connections are kept open for the next message (several when messages are sent
    side by side); one that failed is closed, and the next message opens a new one."""

    def __init__(self, host: str, port: int, timeout: float = 30.0, *, security: str = "none",
                 username: str | None = None, password: str | None = None, ca_file=None,
                 context: ssl.SSLContext | None = None):
        self.host, self.port, self.timeout = host, port, timeout
        self.security, self.username, self.password = security, username, password
        self.context = context or tls_context(security, ca_file)
        self.idle: list[smtplib.SMTP] = []

    def connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=self.context)  # raises unless the server offers it
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, email: Email) -> None:
        smtp = self.idle.pop() if self.idle else self.connect()
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


def tls_context(security: str, ca_file=None) -> ssl.SSLContext | None:
    """What checks the mail server's certificate (loading the CAs takes milliseconds: made once)."""
    return ssl.create_default_context(cafile=ca_file) if security != "none" else None


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:
        smtp.close()


class Mailer(UsesSettings, DependencyProvider):
    """SMTP connections per worker: a sender's batches reuse them.  One TLS context for all."""

    def setup(self):
        self.mailers: dict = {}
        self.context = tls_context(self.settings.smtp_security, self.settings.smtp_ca_file)

    def get_dependency(self, worker_ctx):
        settings = self.settings
        mailer = self.mailers[worker_ctx] = SmtpMailer(
            settings.smtp_host, settings.smtp_port, settings.smtp_timeout_seconds, security=settings.smtp_security,
            username=settings.smtp_username, password=settings.smtp_password, context=self.context)
        return mailer

    def worker_teardown(self, worker_ctx):
        mailer = self.mailers.pop(worker_ctx, None)
        if mailer is not None:
            mailer.close()


class SmsGateway(UsesSettings, DependencyProvider):
    """The SMS provider ``SMS_PROVIDER`` names (services/notify/sms_providers.py)."""

    def setup(self):
        self.gateway = sms_providers.provider(self.settings)

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
