"""The dev mail and SMS sinks as subprocesses, and reading what they received."""
from __future__ import annotations

import email
import json
import os
import signal
import socket
import subprocess
import sys
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

from shared.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class SinkProcess:
    """A dev sink (``python -m <module> --host 127.0.0.1 --port N ...``) as a subprocess:
    up once it has printed its startup line (unless it ``announces`` none) and accepts
    connections; stopped with SIGTERM, returning its exit status.  Its output goes to
    ``<log_dir>/<module>-<port>.out``."""

    def __init__(self, module: str, port: int, args: list[str], *, log_dir: Path, env: dict | None = None,
                 announces: bool = True):
        self.port = port
        self.announces = announces
        log_dir.mkdir(parents=True, exist_ok=True)
        self.out = log_dir / f"{module}-{port}.out"
        with open(self.out, "wb") as out, open(log_dir / f"{module}-{port}.err", "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), *args],
                cwd=PROJECT_ROOT, stdout=out, stderr=err, env={**os.environ, **(env or {})},
            )
        wait_until(self._up, 10, message=f"{module} on port {port}")

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"sink exited early with {self.proc.returncode}")
        if self.announces and not self.out.read_text(encoding="utf-8").endswith("\n"):  # the startup line
            return False
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"sink did not exit within {timeout:.0f} s of SIGTERM") from None


class _Sink:
    module = ""  # e.g. ops.mail_sink
    target_flag = ""  # where it writes: --dir or --file

    def __init__(self, target: Path, fail_first: int = 0, *, args: tuple = (), env: dict | None = None):
        self.target = target
        self.port = free_port()
        self.process = None
        self.args, self.env = list(args), env  # e.g. STARTTLS and AUTH for the mail sink, a key for the SMS sink
        self.start(fail_first)

    def start(self, fail_first: int = 0, *more: str) -> None:
        self.process = SinkProcess(self.module, self.port,
                                   [self.target_flag, str(self.target), "--fail-first", str(fail_first),
                                    *self.args, *more],
                                   log_dir=self.target.parent / "sink-logs", env=self.env)

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def restart(self, fail_first: int = 0, *more: str) -> None:
        self.stop()
        self.start(fail_first, *more)


class MailSink(_Sink):
    module = "ops.mail_sink"
    target_flag = "--dir"

    def messages(self) -> list[EmailMessage]:
        return self.messages_in(self.target)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        return self.messages_in(self.target, wait_for=count, timeout=timeout)

    @staticmethod
    def messages_in(directory: Path, wait_for: int = 0, timeout: float = 15.0) -> list[EmailMessage]:
        """The messages a mail sink saved in ``directory``, oldest first (waiting for a count)."""

        def read():
            paths = sorted(directory.glob("*.eml")) if directory.exists() else []
            return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in paths]

        if not wait_for:
            return read()
        return wait_until(lambda: (m := read()) and len(m) >= wait_for and m, timeout,
                          message=f"{wait_for} e-mail(s) in {directory}")


class SmsSink(_Sink):
    module = "ops.sms_sink"
    target_flag = "--file"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/messages"

    def messages(self) -> list[dict]:
        return self.messages_in(self.target)

    @staticmethod
    def messages_in(path: Path) -> list[dict]:
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Written:
    """What the dev sinks of a running `make run` wrote under DATA_DIR (read-only)."""

    def __init__(self, data_dir: Path):
        self.mail = _Reader(lambda: MailSink.messages_in(data_dir / "mail"))
        self.sms = _Reader(lambda: SmsSink.messages_in(data_dir / "sms.jsonl"))


class _Reader:
    def __init__(self, read):
        self.messages = read


def plain_text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def credentials_in(message: EmailMessage) -> dict:
    """The ``Login:``/``Wachtwoord:`` lines of a plain-text part (the contract)."""
    found = {}
    for line in plain_text(message).splitlines():
        if line.startswith("Login: "):
            found["login"] = line.removeprefix("Login: ").strip()
        if line.startswith("Wachtwoord: "):
            found["password"] = line.removeprefix("Wachtwoord: ").strip()
    return found


def links_in(message: EmailMessage, base_url: str) -> list[str]:
    return [line.strip() for line in plain_text(message).splitlines() if line.startswith(base_url)]
