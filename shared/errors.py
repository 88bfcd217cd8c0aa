"""Domain errors that cross service boundaries.

Each class is registered with nameko's remote error registry, so a caller of an
RPC method gets the same typed exception back (with its message and field) rather
than a bare ``RemoteError``.  Messages are written for people: the gateway and the
CLI show them as they are; the gateway's table (services.gateway.errors) gives each its
HTTP status, the CLI its exit code (cli.runtime).
"""
from nameko.exceptions import deserialize_to_instance


class DomainError(Exception):
    code = "invalid_request"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message, field)
        self.message = message
        self.field = field

    def __str__(self):
        return self.message

    def to_dict(self) -> dict:
        body = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


@deserialize_to_instance
class InvalidInput(DomainError):
    code = "invalid_input"


@deserialize_to_instance
class NotFound(DomainError):
    code = "not_found"


@deserialize_to_instance
class AlreadyExists(DomainError):
    code = "already_exists"


@deserialize_to_instance
class Refused(DomainError):
    """The request is well-formed but the system's state does not allow it (an e-mail
    already sent, a manager with an own password)."""

    code = "refused"


@deserialize_to_instance
class Gone(DomainError):
    """No longer available; ``reason`` says why when it is known (``expired``, ``manager``,
    ``retracted``: services.files.deletion), so the portal can say it."""

    code = "gone"

    def __init__(self, message: str, field: str | None = None, reason: str | None = None):
        super().__init__(message, field)
        self.args = (message, field, reason)  # travels over RPC whole
        self.reason = reason


@deserialize_to_instance
class PayloadTooLarge(DomainError):
    code = "payload_too_large"


@deserialize_to_instance
class AuthenticationFailed(DomainError):
    """Wrong or unknown login, password or code, or an expired step; the message says
    what the person can do and reveals nothing about which accounts exist."""

    code = "authentication_failed"


@deserialize_to_instance
class TooManyRequests(DomainError):
    code = "too_many_requests"


@deserialize_to_instance
class ServiceUnavailable(DomainError):
    code = "service_unavailable"


EXPECTED_ERRORS = (InvalidInput, NotFound, AlreadyExists, Refused, Gone, PayloadTooLarge, AuthenticationFailed, TooManyRequests)
"""For ``@rpc(expected_exceptions=...)``: logged as warnings, not errors."""
