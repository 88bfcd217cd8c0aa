"""What every command shares: the settings of this run, RPC to the system, and how a
failure becomes one line on stderr with a documented exit status."""
from __future__ import annotations

import sys

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.exceptions import MethodNotFound, RemoteError

from cli.settings import CliSettings
from shared.errors import DomainError, InvalidInput, NotFound, ServiceUnavailable
from shared.rpc import RpcClient
from shared.settings import ConfigurationError, mask_password

# Exit statuses (README "Operator CLI"; `energiepost --help`).
OK, REFUSED, USAGE, NOT_FOUND, UNAVAILABLE = 0, 1, 2, 3, 4
INTERRUPTED = 130
EXIT_CODES = {
    OK: "done",
    REFUSED: "refused by the system (its one-line reason on stderr)",
    USAGE: "usage: a wrong argument, option or setting",
    NOT_FOUND: "not found: no such community, file or delivery",
    UNAVAILABLE: "unavailable: RabbitMQ, the gateway or a service did not answer",
}


class CliError(Exception):
    """A failure to report in one line, with an exit status."""

    def __init__(self, message: str, status: int = REFUSED):
        super().__init__(message)
        self.status = status


def status_of(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return NOT_FOUND
    if isinstance(error, ServiceUnavailable):
        return UNAVAILABLE
    if isinstance(error, InvalidInput):
        return USAGE
    return REFUSED


_settings: CliSettings | None = None


def load_settings() -> CliSettings:
    global _settings
    _settings = CliSettings.load()
    return _settings


def settings() -> CliSettings:
    """The settings this run read (``main`` reads them, and reports a bad value, before any command runs)."""
    return _settings


def ingest_key() -> str:
    try:
        return settings().require_ingest_key()
    except ConfigurationError as exc:
        raise CliError(str(exc), USAGE) from None


def rpc(service: str, method: str, *, timeout: float | None = None, **kwargs):
    """Call ``service.method`` with the RPC deadline (or a shorter ``timeout``); every way it
    can fail becomes a ``DomainError`` or a ``CliError`` (never a traceback)."""
    uri = mask_password(settings().amqp_uri)
    try:
        with RpcClient(settings().amqp_uri, timeout=timeout or settings().rpc_timeout) as client:
            return client.call(service, method, **kwargs)
    except (ConnectionError, OSError, OperationalError) as exc:
        raise CliError(f"cannot reach RabbitMQ at {uri} ({exc}); is the system running?", UNAVAILABLE) from None
    except AMQPError as exc:
        raise CliError(f"RabbitMQ at {uri} refused the connection ({type(exc).__name__}); "
                       "check AMQP_URI", UNAVAILABLE) from None
    except MethodNotFound:
        raise CliError(f"the running {service} service does not know {method!r}: is it older than this "
                       "command line?", UNAVAILABLE) from None
    except RemoteError as exc:
        raise CliError(f"the {service} service failed ({exc.exc_type}); see its log", REFUSED) from None


def warn(message: str) -> None:
    print(f"energiepost: {message}", file=sys.stderr)
