"""Server-rendered pages for managers: rendering, cookies, redirects, the client address.

Cookies are HttpOnly and SameSite=Lax, Secure (with the ``__Host-`` prefix) when
the portal is served over https.  Every POST form carries a ``csrf_token``
(services.gateway.csrf).
"""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from werkzeug.utils import redirect as werkzeug_redirect
from werkzeug.wrappers import Response

from shared.formatting import template_environment

SESSION, ATTEMPT, CSRF = "session", "attempt", "csrf"
DEVICE = "device"  # the trusted-device token (services.auth.devices), set after a completed login
SORT_FIELDS = ("name", "size", "date")
DIRECTIONS = ("asc", "desc")
PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,5}")
FILE_PAGE = re.compile(r"/files/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

env = template_environment(Path(__file__).parent / "templates")


def security_headers(response: Response, settings) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" would make browsers send Origin: null
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if settings.uses_https:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def cookie_name(name: str, settings) -> str:
    return f"__Host-{name}" if settings.uses_https else f"ep_{name}"


def read_cookie(request, name: str, settings) -> str | None:
    return request.cookies.get(cookie_name(name, settings))


def set_cookie(response: Response, name: str, value: str, settings, max_age: int | None = None) -> None:
    """A session cookie, or with ``max_age`` (seconds) one the browser keeps that long."""
    response.set_cookie(cookie_name(name, settings), value, path="/", httponly=True, samesite="Lax",
                        secure=settings.uses_https, max_age=max_age)


def clear_cookie(response: Response, name: str, settings) -> None:
    response.delete_cookie(cookie_name(name, settings), path="/", httponly=True, samesite="Lax",
                           secure=settings.uses_https)


def render(request, settings, template: str, *, csrf=None, status: int = 200, **context) -> Response:
    """A page; with ``csrf`` (services.gateway.csrf.Csrf) its forms get their token, and
    the cookie when there was none.  Error pages get none: they would replace the cookie."""
    token, fresh = csrf.form_token(request) if csrf is not None else ("", None)
    html = env.get_template(f"portal/{template}").render(
        csrf_token=token, operator=settings.operator_name, helpline=settings.helpline,
        retention_days=settings.retention_days, **context,
    )
    response = Response(html, status=status, mimetype="text/html")
    if fresh:
        set_cookie(response, CSRF, fresh, settings)
    return security_headers(response, settings)


def redirect(location: str, settings) -> Response:
    return security_headers(werkzeug_redirect(location, code=303), settings)


def safe_next(value) -> str:
    """Where to go after logging in: only the portal's own pages — ``/files`` (keeping a
    valid sort order and page), ``/files/<id>`` or ``/account`` — and anything else is ``/files``.  The answer is
    rebuilt from known parts, so no scheme, host, ``//``, backslash or control character
    (however encoded) can get through."""
    if not isinstance(value, str) or len(value) > 200:
        return "/files"
    path, _, query = value.partition("?")
    if (FILE_PAGE.fullmatch(path) or path == "/account") and not query:
        return path
    if path != "/files":
        return "/files"
    given = dict(parse_qsl(query))
    kept = {key: given[key] for key, allowed in (("sort", SORT_FIELDS), ("dir", DIRECTIONS))
            if given.get(key) in allowed}
    if PAGE_NUMBER.fullmatch(given.get("page", "")):
        kept["page"] = given["page"]
    return f"/files?{urlencode(kept)}" if kept else "/files"


def with_next(path: str, next_path: str) -> str:
    return path if next_path == "/files" else f"{path}?{urlencode({'next': next_path})}"


def client_ip(request, settings) -> str | None:
    """The client's address: the socket peer, unless the peer is one of TRUSTED_PROXIES; then
    the right-most ``X-Forwarded-For`` address that is not a trusted proxy (all trusted: the
    left-most).  Only valid addresses are passed on: an entry that is not one ends the walk at
    the last address known."""
    trusted = settings.trusted_proxies
    client = _address(request.remote_addr)
    if client is None or not any(client in network for network in trusted):
        return client and str(client)
    for entry in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
        address = _address(entry)
        if address is None:
            break
        client = address
        if not any(address in network for network in trusted):
            break
    return str(client)


def _address(text):
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address
