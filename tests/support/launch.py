"""The whole system started as `make run` starts it, for end-to-end and browser tests."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import requests
from amqp.exceptions import ChannelError
from kombu import Connection

from ops.run import QUIET_NAMEKO
from shared.settings import PROJECT_ROOT
from tests.support.sinks import free_port, wait_until

CLI = str(Path(sys.executable).parent / "energiepost")
AMQP_URI = os.environ.get("TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
RABBIT_API_URI = os.environ.get("TEST_RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")


@contextlib.contextmanager
def fresh_vhost():
    """An AMQP URI on a vhost of its own (made and removed through the management API)."""
    name = f"energiepost_test_{uuid.uuid4().hex[:10]}"
    api = urlsplit(RABBIT_API_URI)
    base = f"{api.scheme}://{api.hostname}:{api.port}/api"
    auth = (api.username, api.password)
    user = urlsplit(AMQP_URI).username
    requests.put(f"{base}/vhosts/{quote(name)}", auth=auth, timeout=10).raise_for_status()
    requests.put(f"{base}/permissions/{quote(name)}/{user}", auth=auth, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    try:
        yield AMQP_URI.rstrip("/") + "/" + quote(name)
    finally:
        requests.delete(f"{base}/vhosts/{quote(name)}", auth=auth, timeout=30)


def system_environment(amqp_uri: str, data_dir: Path) -> dict:
    gateway = free_port()
    env = {
        **os.environ,
        "AMQP_URI": amqp_uri,  # a vhost of its own: a developer's `make run` is untouched
        "DATA_DIR": str(data_dir),
        "GATEWAY_ADDRESS": f"127.0.0.1:{gateway}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{gateway}",
        "SMTP_PORT": str(free_port()),
        "SMTP_SECURITY": "none",  # the dev mail sink on loopback (allowed in production too: benchmarks)
        "SMTP_ALLOW_PLAINTEXT": "true",
        "SMS_GATEWAY_URL": f"http://127.0.0.1:{free_port()}/messages",
    }
    for name in ("INGEST_API_KEYS", "ENERGIEPOST_INGEST_KEY", "ENERGIEPOST_ENV", "ENERGIEPOST_API_URL",
                 "TOTP_ENCRYPTION_KEY", "AUTH_SECRET_KEY"):
        env.pop(name, None)
    return env


@contextlib.contextmanager
def running(env: dict):
    """`make run` in its own process group; Ctrl-C (SIGINT to the group) at the end."""
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True,
    )

    try:
        wait_until(lambda: _healthy(process, env, process.stdout.read), timeout=90, interval=0.5,
                   message="the gateway of `make run`")
        wait_until(lambda: all(_consumers(env["AMQP_URI"], f"rpc-{name}") for name in ("auth", "files", "notify")),
                   timeout=60, interval=0.3, message="auth, files and notify to consume")
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                raise


def _healthy(process: subprocess.Popen, env: dict, output) -> bool:
    """Whether the gateway answers /healthz; ``output()`` tells why when the process died."""
    if process.poll() is not None:
        raise AssertionError(f"{process.args} exited with {process.returncode}:\n{output()}")
    try:
        return requests.get(f"{env['PUBLIC_BASE_URL']}/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


def _consumers(amqp_uri: str, queue: str) -> int:
    return queue_counts(amqp_uri, queue)[1]


def queue_counts(amqp_uri: str, queue: str) -> tuple[int, int]:
    """(ready messages, consumers) of a queue, as the broker sees them now; (0, 0) if it does not exist."""
    with Connection(amqp_uri) as connection:
        try:
            _, messages, consumers = connection.channel().queue_declare(queue, passive=True)
        except ChannelError:
            return 0, 0
    return messages, consumers


class ServiceProcess:
    """One service as the Procfile starts it (``python -m ops.serve <service>``), output to ``log``.

    ``stop()`` is Ctrl-C (SIGINT: nameko finishes its workers first), ``kill()`` a crash.
    """

    def __init__(self, service: str, env: dict, log: Path):
        self.service = service
        self.env = env
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ops.serve", service],
                cwd=PROJECT_ROOT, env={**env, "PYTHONWARNINGS": QUIET_NAMEKO}, stdout=out, stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_consuming(self, queue: str, consumers: int = 1, timeout: float = 60) -> None:
        """Until ``queue`` has at least ``consumers`` consumers (this process among them)."""
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.service} exited with {self.process.returncode}")
            return queue_counts(self.env["AMQP_URI"], queue)[1] >= consumers

        wait_until(ready, timeout=timeout, interval=0.1, message=f"{self.service} to consume {queue}")

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)


@contextlib.contextmanager
def gateway_process(env: dict, log: Path):
    """The gateway alone (as the Procfile starts it) in a process of its own, so that its
    memory can be measured; its output goes to ``log``.  Yields the process."""
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "ops.serve", "gateway"],
                                   cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    try:
        wait_until(lambda: _healthy(process, env, log.read_text), timeout=60, interval=0.2,
                   message="the gateway process")
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
