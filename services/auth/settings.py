"""auth's settings: its database, the login rules, the key of authenticator-app secrets, the key
that typed logins are stored under, and how long security records are kept."""
from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import KEY_HINT, DatabaseUrl, Key32, ServiceSettings, database_url_field, decode_key, secret


class AuthSettings(ServiceSettings):
    database_url: DatabaseUrl = database_url_field("auth")
    login_max_failures: int = Field(10, alias="LOGIN_MAX_FAILURES", ge=1)
    login_failure_window_minutes: int = Field(15, alias="LOGIN_FAILURE_WINDOW_MINUTES", ge=1)
    # Consecutive failures per account and stream (services.auth.lockout); NIST SP 800-63B 5.2.2
    # allows at most 100 before the account is locked.
    login_free_failures: int = Field(5, alias="LOGIN_FREE_FAILURES", ge=1)
    login_backoff_seconds: int = Field(60, alias="LOGIN_BACKOFF_SECONDS", ge=1)
    login_backoff_max_seconds: int = Field(3600, alias="LOGIN_BACKOFF_MAX_SECONDS", ge=1)
    login_hard_limit: int = Field(20, alias="LOGIN_HARD_LIMIT", ge=1, le=100)
    trusted_device_days: int = Field(180, alias="TRUSTED_DEVICE_DAYS", ge=1, le=400)
    session_idle_minutes: int = Field(30, alias="SESSION_IDLE_MINUTES", ge=1)
    session_max_hours: int = Field(12, alias="SESSION_MAX_HOURS", ge=1)
    initial_password_days: int = Field(7, alias="INITIAL_PASSWORD_DAYS", ge=1)
    sms_code_seconds: int = Field(300, alias="SMS_CODE_SECONDS", ge=30)
    sms_code_max_tries: int = Field(5, alias="SMS_CODE_MAX_TRIES", ge=1)
    sms_max_sends: int = Field(4, alias="SMS_MAX_SENDS", ge=1)
    reset_link_minutes: int = Field(60, alias="RESET_LINK_MINUTES", ge=5)
    totp_encryption_key: Key32 | None = secret("TOTP_ENCRYPTION_KEY", required_in_production=True)
    auth_secret_key: Key32 | None = secret("AUTH_SECRET_KEY", required_in_production=True)
    security_retention_days: int = Field(365, alias="SECURITY_RETENTION_DAYS", ge=1)

    @model_validator(mode="after")
    def _backoff_before_the_hard_stop(self):
        if self.login_free_failures > self.login_hard_limit:
            raise ValueError(f"LOGIN_FREE_FAILURES ({self.login_free_failures}) must not be more than "
                             f"LOGIN_HARD_LIMIT ({self.login_hard_limit})")
        if self.login_backoff_seconds > self.login_backoff_max_seconds:
            raise ValueError(f"LOGIN_BACKOFF_SECONDS ({self.login_backoff_seconds}) must not be more than "
                             f"LOGIN_BACKOFF_MAX_SECONDS ({self.login_backoff_max_seconds})")
        return self

    def require_totp_key(self) -> bytes:
        """The key that encrypts authenticator-app secrets (development: one generated in DATA_DIR)."""
        return decode_key(self.secret_or_dev("TOTP_ENCRYPTION_KEY", self.totp_encryption_key,
                                             dev_file="dev-totp-key", hint=KEY_HINT))

    def require_auth_key(self) -> bytes:
        """The key a login as typed is stored under (HMAC-SHA256; development: one generated in DATA_DIR)."""
        return decode_key(self.secret_or_dev("AUTH_SECRET_KEY", self.auth_secret_key,
                                             dev_file="dev-auth-secret-key", hint=KEY_HINT))
