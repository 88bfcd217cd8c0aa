"""auth's own DependencyProviders."""
from nameko.extensions import DependencyProvider

from services.auth.secretbox import SecretBox
from shared.settings import UsesSettings


class Secrets(UsesSettings, DependencyProvider):
    """The ``SecretBox`` for authenticator-app secrets, keyed by TOTP_ENCRYPTION_KEY.
    Production refuses to start without that key (development generates one)."""

    def setup(self):
        self.box = SecretBox(self.settings.require_totp_key())

    def get_dependency(self, worker_ctx):
        return self.box
