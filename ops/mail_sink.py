"""Development SMTP sink: accepts every message and stores it as an ``.eml`` file.

This is a local stand-in for a real mail relay, used by ``make run`` and by the
tests. It is never used in production: every sender and recipient is accepted.

Usage::

    python -m ops.mail_sink [--host 127.0.0.1] [--port 1025] [--dir var/mail]
                            [--fail-first N] [--refuse-first N]
                            [--tls-cert CERT --tls-key KEY] [--username USER]

Defaults may also come from ``MAIL_SINK_HOST``, ``MAIL_SINK_PORT``,
``MAIL_SINK_DIR``, ``MAIL_SINK_TLS_CERT``, ``MAIL_SINK_TLS_KEY`` and
``MAIL_SINK_USERNAME`` (a flag beats the environment, which beats the default).
With a certificate and key the sink offers STARTTLS and requires it before anything
else; with a username it requires AUTH (PLAIN or LOGIN, over TLS) with that username
and the password in ``MAIL_SINK_PASSWORD`` (never a flag: it would show in ``ps``).

Each accepted message is written atomically (temporary file, fsync,
``os.replace``) to ``<dir>/<UTC timestamp>-<8 hex>.eml`` so that file names sort
by arrival and a reader never sees a partial ``.eml``. The file holds the raw
message as received, preceded by ``Return-Path`` and ``X-Envelope-To`` headers
that record the SMTP envelope. ``--fail-first N`` answers the first N DATA
commands with a temporary failure (451) and saves nothing, so that tests can
prove a sender retries; ``--refuse-first N`` answers them with a permanent
refusal (550), so that tests can prove a sender gives up at once.
"""

import asyncio
import datetime
import os
import secrets
import signal
import sys

import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from ops.sinks import sink_arguments

TEMP_FAILURE = "451 4.3.0 Temporary failure (simulated by mail sink)"
REFUSAL = "550 5.7.1 Message refused (simulated by mail sink)"


class SinkHandler:
    """aiosmtpd handler that saves each message to one ``.eml`` file."""

    def __init__(self, directory, fail_first=0, refuse_first=0):
        self.directory = directory
        self.fail_remaining = fail_first
        self.refuse_remaining = refuse_first
        self._last_stamp = None

    def _next_name(self):
        # Strictly increasing timestamps keep names in arrival order even if
        # two messages land in the same microsecond or the clock steps back.
        now = datetime.datetime.now(datetime.timezone.utc)
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + datetime.timedelta(microseconds=1)
        self._last_stamp = now
        return f"{now:%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(4)}.eml"

    def _write(self, name, data):
        final = os.path.join(self.directory, name)
        temp = os.path.join(self.directory, f".{name}.tmp")
        try:
            with open(temp, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, final)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise
        return final

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_remaining > 0:
            self.refuse_remaining -= 1
            return REFUSAL
        if self.fail_remaining > 0:
            self.fail_remaining -= 1
            return TEMP_FAILURE
        header = (
            f"Return-Path: <{envelope.mail_from or ''}>\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("utf-8")
        name = self._next_name()
        try:
            await asyncio.to_thread(self._write, name, header + envelope.original_content)
        except OSError as exc:
            print(f"mail sink: could not save message: {exc}", file=sys.stderr, flush=True)
            return "451 4.3.0 Could not store message"
        return "250 2.0.0 OK saved " + name


class Credentials:
    """aiosmtpd authenticator: the one username and password the sink accepts."""

    def __init__(self, username, password):
        self.expected = LoginPassword(username.encode(), password.encode())

    def __call__(self, server, session, envelope, mechanism, auth_data):
        success = isinstance(auth_data, LoginPassword) and auth_data == self.expected
        return AuthResult(success=success, handled=False)  # aiosmtpd answers 235 or 535 itself


def smtp_options(tls_cert=None, tls_key=None, username=None, password=None):
    """aiosmtpd's options for STARTTLS (required) and AUTH (required), as configured."""
    options = {}
    if tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
        options.update(tls_context=context, require_starttls=True)
    if username:
        options.update(authenticator=Credentials(username, password or ""), auth_required=True)
    return options


async def serve(host, port, directory, fail_first, refuse_first=0, **security):
    os.makedirs(directory, exist_ok=True)
    handler = SinkHandler(directory, fail_first, refuse_first)
    options = smtp_options(**security)
    loop = asyncio.get_running_loop()
    # An explicit hostname avoids socket.getfqdn(), which can stall on DNS.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mail-sink", enable_SMTPUTF8=True, **options),
        host=host,
        port=port,
    )
    port = server.sockets[0].getsockname()[1]  # the real port when --port 0
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    extras = "".join([", STARTTLS required" if "tls_context" in options else "",
                      ", AUTH required" if "authenticator" in options else ""])
    print(f"mail sink: smtp://{host}:{port} -> {directory}{extras}", flush=True)
    try:
        await stop.wait()
    finally:
        server.close()
        # Open client sessions are cancelled by asyncio.run() on the way out.


def _more(parser, env):
    parser.add_argument("--refuse-first", type=int, default=0, metavar="N",
                        help="answer the first N DATA commands with 550 (a permanent refusal)")
    parser.add_argument("--tls-cert", default=env("TLS_CERT"), help="certificate (PEM): offer and require STARTTLS")
    parser.add_argument("--tls-key", default=env("TLS_KEY"), help="the certificate's private key (PEM)")
    parser.add_argument("--username", default=env("USERNAME"),
                        help="require AUTH as this user (password from MAIL_SINK_PASSWORD)")


def parse_args(argv=None):
    args = sink_arguments("mail", __doc__, argv, port=1025, target=("--dir", os.path.join("var", "mail")),
                          fails="DATA commands with 451", more=_more)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("mail sink: --tls-cert and --tls-key go together")
    return args


def main(argv=None):
    args = parse_args(argv)
    security = dict(tls_cert=args.tls_cert, tls_key=args.tls_key, username=args.username,
                    password=os.environ.get("MAIL_SINK_PASSWORD"))
    try:
        asyncio.run(serve(args.host, args.port, args.dir, max(args.fail_first, 0), max(args.refuse_first, 0),
                          **security))
    except OSError as exc:
        print(f"mail sink: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
