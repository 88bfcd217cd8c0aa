"""The gateway's dependencies: the ingest API keys and the portal's CSRF protection."""
from __future__ import annotations

import hmac

from nameko.extensions import DependencyProvider

from services.gateway.csrf import Csrf
from services.gateway.errors import Unauthorized
from shared.settings import UsesSettings


class IngestKeys(UsesSettings, DependencyProvider):
    """Checks bearer keys of the upstream ingest API; no keys, no start (outside development)."""

    def setup(self):
        self.keys = tuple(k.encode() for k in self.settings.require_ingest_keys())

    def get_dependency(self, worker_ctx):
        return self

    def check(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        given = token.strip().encode()
        # compare with every key, so the time taken says nothing about which matched
        matched = False
        for key in self.keys:
            matched |= hmac.compare_digest(given, key)
        if scheme.lower() != "bearer" or not given or not matched:
            raise Unauthorized("missing or invalid API key")


class CsrfProtection(UsesSettings, DependencyProvider):
    """The portal's CSRF tokens (services.gateway.csrf); no CSRF_SECRET, no start (outside development)."""

    def setup(self):
        self.csrf = Csrf(self.settings.require_csrf_secret(), self.settings)

    def get_dependency(self, worker_ctx):
        return self.csrf
