"""Typed settings: each service, the CLI and the ops scripts declare a class with only
what they read (``services/<name>/settings.py``, ``cli/settings.py``, ``ops/settings.py``),
built from the pieces here.

A class is loaded from one mapping: inside a nameko container its config
(``config.yaml``, itself layered over the environment with ``${VAR:default}``) over
the environment, so tests can set a value per container; elsewhere the environment.
Empty values count as unset; ``<NAME>_FILE`` names a file holding the value (compose
secrets).  An invalid value stops the process at start-up with one line per problem,
naming the variable and never echoing a secret.

In a service, ``settings = Settings(FilesSettings)`` declares the class; the settings
are parsed once per container and every provider that needs a value (database, blob
store, RPC, SMTP, web server) reads that same object.
"""
from __future__ import annotations

import base64
import binascii
import inspect
import ipaddress
import os
import secrets
from collections import ChainMap
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nameko.extensions import DependencyProvider, SharedExtension
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEVELOPMENT, PRODUCTION = "development", "production"
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


class ConfigurationError(Exception):
    """Settings are missing or invalid; the message has one line per problem."""


def mask_password(uri: str) -> str:
    """A URI fit for a message: its password replaced by ***."""
    parts = urlsplit(uri)
    return uri.replace(f":{parts.password}@", ":***@", 1) if parts.password else uri


# --- value types (each check raises ValueError with the phrase that follows the name) ----------

def _absolute(path: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else Path.cwd() / path


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return url.rstrip("/")


def _database_url(url: str) -> str:
    """SQLite, or PostgreSQL through psycopg2 (the installed driver, green under eventlet):
    a plain ``postgresql://`` URL means psycopg2 here, not SQLAlchemy's psycopg 3 default."""
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg2://{rest}"
    if scheme in ("postgresql+psycopg2", "sqlite"):
        return url
    raise ValueError("must be sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE")


def _comma_list(value):
    return tuple(item.strip() for item in value.split(",") if item.strip()) if isinstance(value, str) else value


def _networks(value) -> tuple:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in _comma_list(value))
    except ValueError:
        raise ValueError("must list networks such as 172.16.0.0/12 or 10.0.0.5") from None


def _zone(name) -> ZoneInfo:
    if isinstance(name, ZoneInfo):
        return name
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be a time zone such as Europe/Brussels") from None


def _clock_time(value) -> time:
    if isinstance(value, time):
        return value
    try:
        hours, minutes = str(value).strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError("must be a time of day as HH:MM") from None


DataDir = Annotated[Path, AfterValidator(_absolute)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
DatabaseUrl = Annotated[str, AfterValidator(_database_url)]
CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]


def _api_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    if any(len(key) < 16 for key in keys):
        raise ValueError("every key must be at least 16 characters long")
    return keys


ApiKeys = Annotated[CommaList, AfterValidator(_api_keys)]
Networks = Annotated[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...], BeforeValidator(_networks)]
Zone = Annotated[ZoneInfo, BeforeValidator(_zone)]
ClockTime = Annotated[time, BeforeValidator(_clock_time)]
Environment = Literal["development", "production"]


def _key32(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ValueError(f"must be {KEY_HINT}")
    return key


KEY_HINT = "32 random bytes, URL-safe base64: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
Key32 = Annotated[str, AfterValidator(lambda text: _key32(text) and text)]
"""A 32-byte key given as URL-safe base64 (the text is kept; ``decode_key`` gives the bytes)."""


def decode_key(text: str) -> bytes:
    """32 bytes from URL-safe base64 (padding optional)."""
    return _key32(text)


def secret(alias: str, default=None, *, required_in_production: bool = False, **constraints):
    """A field holding a secret: never echoed in an error message, left out of ``repr``.
    ``required_in_production``: a production start without it is refused (``missing_secrets``)."""
    return Field(default, alias=alias, repr=False, **constraints,
                 json_schema_extra={"secret": True, "required_in_production": required_in_production})


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


# --- loading ------------------------------------------------------------------------------

_PHRASES = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "missing": "is not set",
    "string_too_short": "must be at least {min_length} characters long",
}


class SettingsBase(BaseModel):
    """A settings class: fields named by their variable (``alias``), frozen once loaded."""

    model_config = ConfigDict(frozen=True, extra="ignore", validate_default=True, populate_by_name=False,
                              arbitrary_types_allowed=True)

    retired: ClassVar = {}  # variable -> why it no longer works (what replaced it)

    @classmethod
    def required_secrets(cls) -> tuple[str, ...]:
        """The secrets (variables) a production start needs."""
        return tuple(field.alias for field in cls.model_fields.values()
                     if (field.json_schema_extra or {}).get("required_in_production"))

    def missing_secrets(self) -> list[str]:
        """The required secrets that are not set (their variables)."""
        given = {field.alias: getattr(self, name) for name, field in type(self).model_fields.items()}
        return [alias for alias in self.required_secrets() if not given[alias]]

    @classmethod
    def load(cls, source: Mapping[str, Any] | None = None):
        """Parse the settings from ``source`` (default: the environment)."""
        source = os.environ if source is None else source
        values, problems = {}, []
        for name, reason in cls.retired.items():
            if _given(source.get(name)) is not None:
                problems.append(f"{name} {reason}")
        for field in cls.model_fields.values():
            name = field.alias
            value, path = _given(source.get(name)), _given(source.get(f"{name}_FILE"))
            if path is not None:
                if value is not None:
                    problems.append(f"{name}: set either {name} or {name}_FILE, not both")
                    continue
                try:
                    value = Path(str(path)).read_text(encoding="utf-8").rstrip("\r\n")
                except OSError as exc:
                    problems.append(f"{name}_FILE: cannot read {path} ({exc.strerror})")
                    continue
            if value is not None:
                values[name] = value.strip() if isinstance(value, str) else value
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            problems += [_problem(cls, error) for error in exc.errors()]
        if problems:
            raise ConfigurationError("\n".join(problems))
        return settings


def _given(value):
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _problem(cls, error: dict) -> str:
    name = str(error["loc"][0]) if error["loc"] else ""
    context = error.get("ctx") or {}
    if error["type"] in ("value_error", "assertion_error"):
        phrase = str(context.get("error", error["msg"]))
    elif error["type"] in ("greater_than_equal", "greater_than"):
        phrase = f"must be at least {context.get('ge', context.get('gt'))}"
    elif error["type"] == "less_than_equal":
        phrase = f"must be at most {context['le']}"
    elif error["type"] == "literal_error":
        phrase = f"must be one of {context['expected']}"
    else:
        phrase = _PHRASES.get(error["type"], error["msg"][:1].lower() + error["msg"][1:]).format(**context)
    field = next((f for f in cls.model_fields.values() if f.alias == name), None)
    hidden = field is not None and (field.json_schema_extra or {}).get("secret")
    given = error.get("input")
    if not name:  # a rule across fields: its message names them
        return phrase
    if hidden or error["type"] == "missing" or not isinstance(given, (str, int, float)):
        return f"{name} {phrase}"
    return f"{name} {phrase}, not {mask_password(str(given))!r}"


# --- the pieces settings classes are made of ---------------------------------------------------

class CommonSettings(SettingsBase):
    """What every process reads."""

    environment: Environment = Field(PRODUCTION, alias="ENERGIEPOST_ENV")
    data_dir: DataDir = Field(Path("var"), alias="DATA_DIR")
    amqp_uri: str = Field(DEFAULT_AMQP_URI, alias="AMQP_URI")

    @model_validator(mode="before")
    @classmethod
    def _databases_in_data_dir(cls, values):
        for field in cls.model_fields.values():
            if field.alias.startswith("DATABASE_URL_") and field.alias not in values:
                service = field.alias.removeprefix("DATABASE_URL_").lower()
                values = {**values, field.alias: f"sqlite:///{raw_data_dir(values) / service}.db"}
        return values

    @property
    def is_development(self) -> bool:
        return self.environment == DEVELOPMENT

    def production_problems(self) -> list[str]:
        """Why this may not start in production (nothing in development): one line per missing secret,
        and a PUBLIC_BASE_URL that is not https:// (plain http only on a loopback address)."""
        if self.is_development:
            return []
        problems = [f"{name} is not set (required in production; or {name}_FILE naming a file that holds it)"
                    for name in self.missing_secrets()]
        url = getattr(self, "public_base_url", None)
        if url and not url.startswith("https://") and not _is_loopback(urlsplit(url).hostname):
            problems.append(f"PUBLIC_BASE_URL must be an https:// URL in production (the TLS edge's address; "
                            f"plain http only on a loopback address), not {url!r}")
        return problems

    def secret_or_dev(self, name: str, value, *, dev_file: str, hint: str):
        """A secret's configured value; in development one generated once in DATA_DIR/dev_file;
        in production its absence stops the process with one line saying what to set."""
        if value:
            return value
        if self.is_development:
            return dev_secret(self.data_dir, dev_file, create=True)
        raise ConfigurationError(f"{name} is not set ({hint}; or {name}_FILE naming a file that holds it)")


class RpcSettings(SettingsBase):
    """For a process that makes RPC calls: how long one may take."""

    rpc_timeout: float = Field(10.0, alias="RPC_TIMEOUT_SECONDS", ge=0.1)


class ServiceSettings(CommonSettings, RpcSettings):
    """What every nameko service reads besides its own settings."""

    operator_name: str = Field("Fluvius", alias="OPERATOR_NAME", min_length=1)
    metrics_port: int = Field(0, alias="METRICS_PORT", ge=0, le=65535)  # Prometheus metrics; 0: not served
    log_format: Literal["text", "json"] = Field("text", alias="LOG_FORMAT")  # read by config.yaml's LOGGING


def database_url_field(service: str):
    """``DATABASE_URL_<SERVICE>``: a service's database (default: SQLite ``DATA_DIR/<service>.db``)."""
    return Field(alias=f"DATABASE_URL_{service.upper()}")


def raw_data_dir(values: Mapping) -> Path:
    """DATA_DIR as given, for defaults that live under it (read before validation)."""
    return _absolute(Path(str(values.get("DATA_DIR") or "var")))


def dev_ingest_key(data_dir: Path, *, create: bool = False) -> str | None:
    """The development ingest key, kept in DATA_DIR so the CLI finds it by itself."""
    return dev_secret(data_dir, "dev-ingest-key", create=create)


def dev_secret(data_dir: Path, name: str, *, create: bool = False) -> str | None:
    """A development secret (32 random bytes, URL-safe base64) in the file DATA_DIR/name (readable
    by its owner only), made on first use when ``create``; whoever comes second reads the first one's."""
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    if not create:
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    draft = data_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(draft, path)  # appears whole or not at all; the first one made wins
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


# --- in a nameko service ---------------------------------------------------------------------

class LoadedSettings(SharedExtension):
    """The service's settings, parsed once per container and shared by every provider that
    declares this as a sub-extension (``loaded = LoadedSettings()``)."""

    value = None

    def get(self):
        if self.value is None:
            self.value = declared_settings_class(self.container.service_cls).load(
                ChainMap(self.container.config, os.environ))
        return self.value


def declared_settings_class(service_cls) -> type[SettingsBase]:
    declared = [provider.cls for _, provider in inspect.getmembers(service_cls, lambda v: isinstance(v, Settings))]
    if len(declared) != 1:
        raise ConfigurationError(f"{service_cls.__name__} must declare its settings once: "
                                 "settings = Settings(<its settings class>)")
    return declared[0]


class UsesSettings:
    """For a provider or extension that reads the service's settings: ``self.settings``."""

    loaded = LoadedSettings()

    @property
    def settings(self):
        return self.loaded.get()


class Settings(UsesSettings, DependencyProvider):
    """``settings = Settings(FilesSettings)``: the service's settings, checked at start-up."""

    def __init__(self, cls: type[SettingsBase]):
        self.cls = cls

    def setup(self):
        self.loaded.get()  # a bad value stops the container before it consumes anything

    def get_dependency(self, worker_ctx):
        return self.settings
