"""A login as someone typed it, as auth stores it: keyed.

Failure counters, queued reset requests and the audit trail's "unknown login" keep
what was typed only as an HMAC-SHA256 under AUTH_SECRET_KEY.  A bare SHA-256 of an
e-mail address is reversed by hashing a list of addresses (or a password typed into
the login field, by a dictionary); without the server's key nobody who reads the
database can do that.
"""
from __future__ import annotations

import hashlib
import hmac


def keyed(login: str, settings) -> str:
    """The login as typed, keyed (hex HMAC-SHA256 under AUTH_SECRET_KEY)."""
    return hmac.new(settings.require_auth_key(), login.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def unknown_login(login: str, settings) -> str:
    """How the audit trail names a login that matches no account: a short keyed hash, so
    repeated tries can be told apart without storing what was typed."""
    return named(keyed(login, settings))


def named(key: str) -> str:
    """The audit trail's name for an unknown login from its keyed form."""
    return f"unknown login #{key[:12]}"
