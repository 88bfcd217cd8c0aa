"""The portal's request bodies: small url-encoded forms, checked from the request's head
and read in full, within a deadline, before a nameko worker is taken.

A manager's forms are a few hundred bytes (a selection of 1,000 files: ~45 KiB).  So a
portal request with a body that is not a url-encoded form is refused (415: the portal
takes no uploads), a body of unknown length (chunked, 411) or over 64 KiB (413) is refused
unread, a POST without the CSRF cookie gets its 403 before a byte is read, and a body that
does not arrive within PORTAL_BODY_SECONDS is cut off (408).  What passes is handed on
from memory: werkzeug never reads the socket for the portal and never spools to disk.
"""
from __future__ import annotations

import io

import eventlet
from werkzeug.exceptions import (
    BadRequest, LengthRequired, RequestEntityTooLarge, RequestTimeout, UnsupportedMediaType,
)
from werkzeug.wrappers import Request

from services.gateway.errors import CsrfFailed

MAX_BYTES = 64 * 1024
FORM = "application/x-www-form-urlencoded"


def read_portal_body(environ, *, csrf_cookie: str, seconds: float) -> None:
    """Check a portal request's head, read its body and put it back in ``environ`` as bytes."""
    request = Request(environ, shallow=True)  # shallow: touching the stream would be an error
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    length = request.content_length or 0
    if (length or chunked) and request.mimetype != FORM:
        raise UnsupportedMediaType()
    if chunked:
        raise LengthRequired()
    if length > MAX_BYTES:
        raise RequestEntityTooLarge()
    if request.method == "POST" and not request.cookies.get(csrf_cookie):
        raise CsrfFailed("Dit formulier is verlopen. Laad de pagina opnieuw en probeer nog eens.")
    body = _read(environ["wsgi.input"], length, seconds) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _read(stream, length: int, seconds: float) -> bytes:
    # eventlet.Timeout is a BaseException: caught here, or the client would get no answer.
    deadline = eventlet.Timeout(seconds)
    try:
        body = stream.read(length)
    except eventlet.Timeout as exc:
        if exc is not deadline:
            raise
        raise RequestTimeout() from None
    except OSError:  # the idle timeout of the socket, or the client went away
        raise RequestTimeout() from None
    finally:
        deadline.cancel()
    if len(body) < length:
        raise BadRequest()  # the client stopped before the end of its body
    return body
