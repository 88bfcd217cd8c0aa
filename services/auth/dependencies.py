"""auth's own DependencyProviders."""
from nameko.extensions import DependencyProvider

from services.auth.secretbox import SecretBox
from shared.settings import UsesSettings


class Secrets(UsesSettings, DependencyProvider):
    """The ``SecretBox`` for authenticator-app secrets, keyed by TOTP_ENCRYPTION_KEY.
    Production refuses to start without that key or AUTH_SECRET_KEY (development generates them)."""

    def setup(self):
        self.box = SecretBox(self.settings.require_totp_key())
        self.settings.require_auth_key()  # typed logins are stored under it: checked at start-up

    def get_dependency(self, worker_ctx):
        return self.box
