"""Server-rendered pages for managers: rendering, cookies, CSRF, redirects.

Cookies are HttpOnly and SameSite=Lax, Secure (with the ``__Host-`` prefix) when
the portal is served over https.  Every POST form carries a ``csrf_token`` that
must equal the ``csrf`` cookie (double submit; with ``__Host-`` a sibling domain
cannot plant it), and a POST from a foreign ``Origin`` is refused outright.
"""
from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from werkzeug.utils import redirect as werkzeug_redirect
from werkzeug.wrappers import Response

from shared.errors import DomainError
from shared.formatting import template_environment

SESSION, ATTEMPT, CSRF = "session", "attempt", "csrf"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

env = template_environment(Path(__file__).parent / "templates")


class CsrfFailed(DomainError):
    status = 403
    code = "csrf_failed"


def security_headers(response: Response, settings) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" would make browsers send Origin: null
    response.headers["Cache-Control"] = "no-store"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if settings.uses_https:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def cookie_name(name: str, settings) -> str:
    return f"__Host-{name}" if settings.uses_https else f"ep_{name}"


def read_cookie(request, name: str, settings) -> str | None:
    return request.cookies.get(cookie_name(name, settings))


def set_cookie(response: Response, name: str, value: str, settings) -> None:
    response.set_cookie(cookie_name(name, settings), value, path="/", httponly=True, samesite="Lax",
                        secure=settings.uses_https)


def clear_cookie(response: Response, name: str, settings) -> None:
    response.delete_cookie(cookie_name(name, settings), path="/", httponly=True, samesite="Lax",
                           secure=settings.uses_https)


def render(request, settings, template: str, *, status: int = 200, **context) -> Response:
    """A page; forms in it get the CSRF token (a new cookie when there is none yet).
    Without a request (an error page) no token is made: it would replace the cookie."""
    token = read_cookie(request, CSRF, settings) if request is not None else ""
    fresh = request is not None and (not token or len(token) < 32)
    if fresh:
        token = secrets.token_urlsafe(32)
    html = env.get_template(f"portal/{template}").render(
        csrf_token=token, operator=settings.operator_name, helpline=settings.helpline,
        retention_days=settings.retention_days, **context,
    )
    response = Response(html, status=status, mimetype="text/html")
    if fresh:
        set_cookie(response, CSRF, token, settings)
    return security_headers(response, settings)


def redirect(location: str, settings) -> Response:
    return security_headers(werkzeug_redirect(location, code=303), settings)


def check_post(request, settings) -> None:
    """Refuse a POST from another origin or without the page's CSRF token."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if origin:
        ours = urlsplit(settings.public_base_url)
        theirs = urlsplit(origin)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise CsrfFailed("Dit formulier kwam niet van deze website.")
    cookie = read_cookie(request, CSRF, settings) or ""
    given = request.form.get("csrf_token", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise CsrfFailed("Dit formulier is verlopen. Laad de pagina opnieuw en probeer nog eens.")


def safe_next(value) -> str:
    """Only paths on this site (never //host or a scheme): no open redirect."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/files"


def with_next(path: str, next_path: str) -> str:
    return path if next_path == "/files" else f"{path}?{urlencode({'next': next_path})}"


def client_ip(request, settings) -> str | None:
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64]
    return request.remote_addr
