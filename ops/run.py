"""``make run``: check the broker, migrate, declare queues, then run everything.

Runs the four services (``nameko run``) and the development mail and SMS sinks
from the Procfile under honcho, in the foreground, until Ctrl-C.  ``REPLICAS=N`` runs
N processes of each service (the extra gateways on the next ports).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

from kombu import Connection

from ops import declare_queues, migrate, serve
from ops.settings import OpsSettings
from services.gateway.settings import GatewaySettings
from shared.settings import PROJECT_ROOT, mask_password

# nameko 2.14's command line imports pkg_resources and eventlet, both of which
# print a deprecation banner at every start; the services work the same.
QUIET_NAMEKO = "ignore::UserWarning:nameko.cli.main,ignore::Warning:nameko.cli.commands"
HOW_TO_START_RABBITMQ = "start it with `rabbitmq-server -detached` (or `docker run -d -p 5672:5672 rabbitmq:4.3.1`)"


def broker_problem(amqp_uri: str) -> str | None:
    """None when RabbitMQ answers at ``amqp_uri``, else what went wrong."""
    try:
        with Connection(amqp_uri, connect_timeout=3) as connection:
            connection.connect()
    except Exception as exc:  # refused, unresolvable, bad credentials, timeout
        return str(exc) or type(exc).__name__
    return None


def development_environment(environ: dict) -> dict:
    """The environment for the dev system: defaults for everything `make run` needs."""
    env = dict(environ)
    env.setdefault("ENERGIEPOST_ENV", "development")
    env["DATA_DIR"] = str(Path(env.get("DATA_DIR", "var")).resolve())
    sms = urlsplit(env.get("SMS_GATEWAY_URL", "http://127.0.0.1:8026/messages"))
    env.setdefault("SMTP_SECURITY", "none")  # the dev mail sink speaks plain SMTP on loopback
    env.setdefault("MAIL_SINK_PORT", env.get("SMTP_PORT", "1025"))
    env.setdefault("MAIL_SINK_DIR", str(Path(env["DATA_DIR"]) / "mail"))
    env.setdefault("SMS_SINK_PORT", str(sms.port or 80))
    env.setdefault("SMS_SINK_FILE", str(Path(env["DATA_DIR"]) / "sms.jsonl"))
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("PYTHONWARNINGS", QUIET_NAMEKO)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def replicated_procfile(procfile: str, replicas: int, gateway_address: str) -> str:
    """The Procfile with ``replicas`` processes of each service; gateway ``n`` listens on
    the port ``n - 1`` above ``gateway_address``'s (the first keeps it: PUBLIC_BASE_URL)."""
    host, port = gateway_address.rsplit(":", 1)
    lines = []
    for line in procfile.splitlines():
        name, _, command = line.partition(":")
        if replicas == 1 or name not in serve.SERVICES:
            lines.append(line)
            continue
        for n in range(1, replicas + 1):
            address = f"env GATEWAY_ADDRESS={host}:{int(port) + n - 1} " if name == "gateway" and n > 1 else ""
            lines.append(f"{name}-{n}: {address}{command.strip()}")
    return "\n".join(lines) + "\n"


def replicas_wanted(env: dict) -> int | None:
    value = env.get("REPLICAS", "1").strip() or "1"
    return int(value) if value.isdigit() and 1 <= int(value) <= 8 else None


def main() -> int:
    env = development_environment(os.environ)
    replicas = replicas_wanted(env)
    if replicas is None:
        print(f"energiepost: REPLICAS must be a whole number from 1 to 8, not {env['REPLICAS']!r}", file=sys.stderr)
        return 2
    os.environ.update(env)
    found = [f"{service}: {line}" for service in serve.SERVICES for line in serve.problems(service)]
    for line in found:
        print(f"energiepost: invalid setting in {line}", file=sys.stderr)
    if found:
        return 2
    settings, gateway = OpsSettings.load(env), GatewaySettings.load(env)
    problem = broker_problem(settings.amqp_uri)
    if problem:
        print(
            f"energiepost: cannot reach RabbitMQ at {mask_password(settings.amqp_uri)} ({problem}); "
            f"{HOW_TO_START_RABBITMQ}, or set AMQP_URI",
            file=sys.stderr,
        )
        return 1
    if migrate.main([]) != 0:
        return 1
    declare_queues.declare(settings.amqp_uri)
    gateway.require_ingest_keys()  # development: the key file the CLI finds by itself, made now
    honcho = shutil.which("honcho", path=env["PATH"])
    procfile = PROJECT_ROOT / "Procfile"
    if replicas > 1:
        address = env.get("GATEWAY_ADDRESS", "127.0.0.1:8000")
        procfile = Path(env["DATA_DIR"]) / "Procfile.replicas"
        procfile.parent.mkdir(parents=True, exist_ok=True)
        procfile.write_text(replicated_procfile((PROJECT_ROOT / "Procfile").read_text(), replicas, address))
    print(f"energiepost: starting{f' {replicas} of each service' if replicas > 1 else ''}; portal and API on "
          f"{gateway.public_base_url}, mail in {env['MAIL_SINK_DIR']}, SMS in {env['SMS_SINK_FILE']}", flush=True)
    os.chdir(PROJECT_ROOT)
    os.execve(honcho, [honcho, "-f", str(procfile), "start"], env)


if __name__ == "__main__":
    sys.exit(main())
