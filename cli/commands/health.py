"""energiepost health SERVICE: the compose healthcheck — is a service up, and are its
broker, database and blob store ok?"""
from __future__ import annotations

from cli import output
from cli.registry import arg, command
from cli.runtime import UNAVAILABLE, CliError, rpc, settings
from shared import health as health_checks

HEALTH_TIMEOUT_SECONDS = 5  # within a compose healthcheck's timeout
SERVICES = ("auth", "files", "notify", "gateway")


@command("health", help="is a service up and are its broker, database and blob store ok? (exit 0 only then)",
         example="energiepost health files",
         args=[arg("service", choices=SERVICES, help="the service to ask: auth, files, notify or gateway")])
def health(args) -> None:
    answer = rpc(args.service, "health", timeout=min(HEALTH_TIMEOUT_SECONDS, settings().rpc_timeout))
    if answer.get("status") != health_checks.OK:
        raise CliError(health_checks.summary(answer), UNAVAILABLE)
    output.emit(args, answer, lambda a: print(health_checks.summary(a)))
