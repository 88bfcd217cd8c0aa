"""CSRF protection of the portal's forms: a signed double submit, bound to the session.

The ``csrf`` cookie holds a random value (renewed when a session starts).  A form's
``csrf_token`` is ``HMAC(CSRF_SECRET, csrf cookie, session cookie)``: it is good only
with that cookie *and* that session, so a token captured before the login is worthless
after it, and someone who can plant a cookie (a sibling domain over plain http) still
cannot make a token to go with it.  A POST from a foreign ``Origin`` (or ``Referer``) is
refused outright.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from services.gateway import pages
from services.gateway.errors import CsrfFailed

MIN_COOKIE_LENGTH = 32


class Csrf:
    def __init__(self, secret: str, settings):
        self.secret = secret.encode()
        self.settings = settings

    def _token(self, cookie: str, session: str) -> str:
        mac = hmac.new(self.secret, f"{cookie}\0{session}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def form_token(self, request) -> tuple[str, str | None]:
        """The token for the forms of a page, and the new cookie to set when there was none."""
        cookie = pages.read_cookie(request, pages.CSRF, self.settings) or ""
        fresh = None
        if len(cookie) < MIN_COOKIE_LENGTH:
            cookie = fresh = self.new_cookie()
        return self._token(cookie, pages.read_cookie(request, pages.SESSION, self.settings) or ""), fresh

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(32)

    def check(self, request) -> None:
        """Refuse a POST from another origin, or without the token of this cookie and session."""
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if origin:
            ours = urlsplit(self.settings.public_base_url)
            theirs = urlsplit(origin)
            if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
                raise CsrfFailed("Dit formulier kwam niet van deze website.")
        cookie = pages.read_cookie(request, pages.CSRF, self.settings) or ""
        given = request.form.get("csrf_token", "")
        expected = self._token(cookie, pages.read_cookie(request, pages.SESSION, self.settings) or "")
        if len(cookie) < MIN_COOKIE_LENGTH or not hmac.compare_digest(expected.encode(), given.encode()):
            raise CsrfFailed("Dit formulier is verlopen. Laad de pagina opnieuw en probeer nog eens.")
