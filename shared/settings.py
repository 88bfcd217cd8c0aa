"""Typed settings: the one place that reads the environment.

Every service (and the CLI) builds a ``Settings`` from a mapping: inside a nameko
container that is the container config layered over ``os.environ`` (so tests can
override a setting per container), elsewhere ``os.environ`` alone.  Invalid values
stop the process at start-up with a message naming the variable.
"""
from __future__ import annotations

import ipaddress
import base64
import binascii
import os
from collections import ChainMap
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nameko.extensions import DependencyProvider

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SERVICES_WITH_DATABASE = ("auth", "files", "notify")
DEVELOPMENT = "development"
PRODUCTION = "production"


class ConfigurationError(Exception):
    """A setting is missing or invalid; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    environment: str
    amqp_uri: str
    data_dir: Path
    database_urls: Mapping[str, str]
    blob_store: str
    s3_endpoint_url: str | None
    s3_region: str
    s3_access_key_id: str | None
    s3_secret_access_key: str | None = field(repr=False)
    staged_grace_hours: int
    smtp_host: str
    smtp_port: int
    mail_from: str
    sms_gateway_url: str
    public_base_url: str
    retention_days: int
    reminder_days: int
    ingest_api_keys: tuple[str, ...]
    max_upload_bytes: int
    rpc_timeout: float
    operator_name: str
    helpline: str
    delivery_retry_seconds: float
    login_max_failures: int
    login_failure_window_minutes: int
    session_idle_minutes: int
    session_max_hours: int
    initial_password_days: int
    sms_code_seconds: int
    sms_code_max_tries: int
    sms_max_sends: int
    reset_link_minutes: int
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    portal_body_seconds: float
    request_idle_seconds: float
    csrf_secret: str | None
    totp_encryption_key: bytes | None
    retention_at: time
    retention_zone: ZoneInfo

    @property
    def is_development(self) -> bool:
        return self.environment == DEVELOPMENT

    @property
    def uses_https(self) -> bool:
        return self.public_base_url.startswith("https://")

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    @classmethod
    def load(cls, source: Mapping[str, object] | None = None) -> "Settings":
        env = _Reader(os.environ if source is None else source)
        environment = env.choice("ENERGIEPOST_ENV", (DEVELOPMENT, PRODUCTION), PRODUCTION)
        data_dir = Path(env.text("DATA_DIR", "var")).expanduser()
        if not data_dir.is_absolute():
            data_dir = Path.cwd() / data_dir
        settings = cls(
            environment=environment,
            amqp_uri=env.text("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
            data_dir=data_dir,
            database_urls={
                service: env.text(
                    f"DATABASE_URL_{service.upper()}", f"sqlite:///{data_dir / service}.db"
                )
                for service in SERVICES_WITH_DATABASE
            },
            blob_store=env.text("BLOB_STORE", (data_dir / "blobs").as_uri()),
            s3_endpoint_url=env.url("S3_ENDPOINT_URL", None),
            s3_region=env.text("S3_REGION", "us-east-1"),
            s3_access_key_id=env.text("S3_ACCESS_KEY_ID", None),
            s3_secret_access_key=env.text("S3_SECRET_ACCESS_KEY", None),
            staged_grace_hours=env.integer("STAGED_GRACE_HOURS", 24, minimum=1),
            smtp_host=env.text("SMTP_HOST", "127.0.0.1"),
            smtp_port=env.integer("SMTP_PORT", 1025, minimum=1),
            mail_from=env.text("MAIL_FROM", "no-reply@energiepost.local"),
            sms_gateway_url=env.url("SMS_GATEWAY_URL", "http://127.0.0.1:8026/messages"),
            public_base_url=env.url("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            retention_days=env.integer("RETENTION_DAYS", 30, minimum=1),
            reminder_days=env.integer("REMINDER_DAYS", 7, minimum=1),
            ingest_api_keys=env.secrets("INGEST_API_KEYS"),
            max_upload_bytes=env.integer("MAX_UPLOAD_BYTES", 2 * 1024**3, minimum=1),
            rpc_timeout=env.number("RPC_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            operator_name=env.text("OPERATOR_NAME", "Fluvius"),
            helpline=env.text("HELPLINE", "078 35 35 34"),
            delivery_retry_seconds=env.number("DELIVERY_RETRY_SECONDS", 30.0, minimum=0.1),
            login_max_failures=env.integer("LOGIN_MAX_FAILURES", 10, minimum=1),
            login_failure_window_minutes=env.integer("LOGIN_FAILURE_WINDOW_MINUTES", 15, minimum=1),
            session_idle_minutes=env.integer("SESSION_IDLE_MINUTES", 30, minimum=1),
            session_max_hours=env.integer("SESSION_MAX_HOURS", 12, minimum=1),
            initial_password_days=env.integer("INITIAL_PASSWORD_DAYS", 7, minimum=1),
            sms_code_seconds=env.integer("SMS_CODE_SECONDS", 300, minimum=30),
            sms_code_max_tries=env.integer("SMS_CODE_MAX_TRIES", 5, minimum=1),
            sms_max_sends=env.integer("SMS_MAX_SENDS", 4, minimum=1),
            reset_link_minutes=env.integer("RESET_LINK_MINUTES", 60, minimum=5),
            trusted_proxies=env.networks("TRUSTED_PROXIES"),
            portal_body_seconds=env.number("PORTAL_BODY_SECONDS", 10.0, minimum=0.1),
            request_idle_seconds=env.number("REQUEST_IDLE_SECONDS", 60.0, minimum=0.1),
            csrf_secret=env.secret("CSRF_SECRET", minimum_length=32),
            totp_encryption_key=env.key("TOTP_ENCRYPTION_KEY"),
            retention_at=env.clock_time("RETENTION_AT", time(2, 0)),
            retention_zone=env.zone("RETENTION_ZONE", "Europe/Brussels"),
        )
        if env.text("TRUST_FORWARDED_FOR", None) is not None:
            raise ConfigurationError("TRUST_FORWARDED_FOR was replaced by TRUSTED_PROXIES: the networks of the "
                                     "proxies in front of the gateway (e.g. 172.16.0.0/12), or nothing")
        if settings.reminder_days >= settings.retention_days:
            raise ConfigurationError(
                f"REMINDER_DAYS ({settings.reminder_days}) must be shorter than "
                f"RETENTION_DAYS ({settings.retention_days})"
            )
        return settings

    def require_ingest_keys(self) -> tuple[str, ...]:
        """The ingest keys; in development a generated key file stands in."""
        if self.ingest_api_keys:
            return self.ingest_api_keys
        if self.is_development:
            return (dev_ingest_key(self.data_dir, create=True),)
        raise ConfigurationError("INGEST_API_KEYS is not set (comma-separated list of keys)")

    def require_csrf_secret(self) -> str:
        """The key that signs the portal's CSRF tokens; in development a generated one in DATA_DIR."""
        if self.csrf_secret:
            return self.csrf_secret
        if self.is_development:
            return dev_secret(self.data_dir, "dev-csrf-secret", create=True)
        raise ConfigurationError("CSRF_SECRET is not set (a random string of at least 32 characters, "
                                 "the same for every gateway replica)")
    def require_totp_key(self) -> bytes:
        """The key that encrypts authenticator-app secrets; in development a generated key file stands in."""
        if self.totp_encryption_key:
            return self.totp_encryption_key
        if self.is_development:
            return decode_key(dev_secret(self.data_dir, "dev-totp-key", create=True))
        raise ConfigurationError(f"TOTP_ENCRYPTION_KEY is not set ({KEY_HINT})")


KEY_HINT = "32 random bytes, URL-safe base64: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def decode_key(text: str) -> bytes:
    """32 bytes from URL-safe base64 (padding optional); ValueError otherwise."""
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not URL-safe base64") from None
    if len(key) != 32:
        raise ValueError(f"{len(key)} bytes instead of 32")
    return key


def mask_password(uri: str) -> str:
    """A URI fit for a message: its password replaced by ***."""
    parts = urlsplit(uri)
    return uri.replace(f":{parts.password}@", ":***@", 1) if parts.password else uri


def dev_ingest_key(data_dir: Path, *, create: bool = False) -> str | None:
    """The development ingest key, kept in DATA_DIR so the CLI finds it by itself."""
    return dev_secret(data_dir, "dev-ingest-key", create=create)


def dev_secret(data_dir: Path, name: str, *, create: bool = False) -> str | None:
    """A development secret (32 random bytes, URL-safe base64) in the file DATA_DIR/name (readable
    by its owner only), made on first use when ``create``; whoever comes second reads the first one's."""
    import secrets

    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    if not create:
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


class _Reader:
    """Reads and checks raw values; every error names the variable."""

    def __init__(self, source: Mapping[str, object]):
        self.source = source

    def _raw(self, name):
        value = self.source.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value

    def text(self, name, default):
        value = self._raw(name)
        return default if value is None else str(value).strip()

    def choice(self, name, allowed, default):
        value = self.text(name, default)
        if value not in allowed:
            raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        return value

    def number(self, name, default, *, minimum):
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} must be a number, not {value!r}") from None
        if number < minimum:
            raise ConfigurationError(f"{name} must be at least {minimum}, not {value!r}")
        return number

    def integer(self, name, default, *, minimum):
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ConfigurationError(f"{name} must be a whole number, not {value!r}") from None
        if number < minimum:
            raise ConfigurationError(f"{name} must be at least {minimum}, not {number}")
        return number

    def clock_time(self, name, default: time) -> time:
        value = self._raw(name)
        if value is None:
            return default
        try:
            hours, minutes = str(value).strip().split(":")
            return time(int(hours), int(minutes))
        except ValueError:
            raise ConfigurationError(f"{name} must be a time of day as HH:MM, not {value!r}") from None

    def zone(self, name, default: str) -> ZoneInfo:
        value = self.text(name, default)
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(f"{name} must be a time zone such as Europe/Brussels, not {value!r}") from None

    def url(self, name, default):
        value = self.text(name, default)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"{name} must be an http(s) URL, not {value!r}")
        return value

    def secret(self, name, *, minimum_length):
        value = self._raw(name)
        if value is None:
            return None
        if len(str(value).strip()) < minimum_length:
            raise ConfigurationError(f"{name} must be at least {minimum_length} characters long")
        return str(value).strip()

    def networks(self, name):
        """A comma-separated list of networks (``10.0.0.0/8``) or single addresses."""
        value = self._raw(name)
        if value is None:
            return ()
        try:
            return tuple(ipaddress.ip_network(part.strip(), strict=False)
                         for part in str(value).split(",") if part.strip())
        except ValueError as exc:
            raise ConfigurationError(f"{name} must list networks such as 172.16.0.0/12 or 10.0.0.5: {exc}") from None
    def key(self, name):
        value = self._raw(name)
        if value is None:
            return None
        try:
            return decode_key(str(value).strip())
        except ValueError as exc:
            raise ConfigurationError(f"{name} must be {KEY_HINT} ({exc})") from None

    def secrets(self, name):
        value = self._raw(name)
        if value is None:
            return ()
        keys = tuple(key.strip() for key in str(value).split(",") if key.strip())
        if any(len(key) < 16 for key in keys):
            raise ConfigurationError(f"{name}: every key must be at least 16 characters long")
        return keys


def container_settings(container) -> Settings:
    """Settings of a nameko container: its config, then the environment."""
    return Settings.load(ChainMap(container.config, os.environ))


class SettingsProvider(DependencyProvider):
    """Injects the validated settings; a bad setting stops the service at start-up."""

    def setup(self):
        self.settings = container_settings(self.container)

    def get_dependency(self, worker_ctx):
        return self.settings
