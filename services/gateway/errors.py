"""The gateway's errors, and the one table from an error to its HTTP status.

The services raise the domain errors of ``shared.errors`` (which travel over RPC and say
nothing about HTTP); the gateway adds its own few, for what only the edge can see (an API
key, a CSRF token, a body's length or pace).  ``status_of`` is how every answer — a JSON
error of the API, an error page of the portal, a form shown again with its message, the
OpenAPI document — finds its status.
"""
from __future__ import annotations

from werkzeug.exceptions import HTTPException

from shared.errors import (
    AlreadyExists, AuthenticationFailed, DomainError, Gone, InvalidInput, NotFound, PayloadTooLarge, Refused,
    ServiceUnavailable, TooManyRequests,
)


class Unauthorized(DomainError):
    """No or a wrong API key on the ingest API."""

    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="energiepost ingest"'}


class CsrfFailed(DomainError):
    """A portal form without the token of its cookie and session, or from another site."""

    code = "csrf_failed"


class LengthRequired(DomainError):
    code = "length_required"


class UploadStalled(DomainError):
    code = "request_timeout"


STATUS = {
    InvalidInput: 400,
    AuthenticationFailed: 401,
    Unauthorized: 401,
    CsrfFailed: 403,
    NotFound: 404,
    UploadStalled: 408,
    AlreadyExists: 409,
    Refused: 409,
    Gone: 410,
    LengthRequired: 411,
    PayloadTooLarge: 413,
    TooManyRequests: 429,
    ServiceUnavailable: 503,
}

# What an error page says for werkzeug's own errors (a domain error carries its message).
PAGE_MESSAGES = {
    404: "Deze pagina bestaat niet.",
    405: "Deze pagina kan zo niet gebruikt worden.",
    408: "Dit duurde te lang. Probeer het opnieuw.",
    411: "Deze vraag kon niet verwerkt worden.",
    413: "Dit is te groot.",
    415: "Hier kunnen geen bestanden of andere gegevens opgeladen worden.",
}
UNCLEAR = "Deze vraag kon niet verwerkt worden."
OUR_FAULT = "Er ging iets mis aan onze kant. Probeer het later opnieuw."


def status_for(error: type[DomainError]) -> int:
    """The status of a domain error class: its own, or that of its nearest listed base."""
    return next((STATUS[cls] for cls in error.__mro__ if cls in STATUS), 400)


def status_of(exc: BaseException) -> int:
    """The HTTP status of an error: the table's for a domain error, werkzeug's own code for
    its HTTP errors, 500 for anything else."""
    if isinstance(exc, DomainError):
        return status_for(type(exc))
    if isinstance(exc, HTTPException) and exc.code:
        return exc.code
    return 500
