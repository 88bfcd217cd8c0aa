"""What the CLI reads: the broker and the gateway it talks to, and the key of the ingest API."""
from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import (
    PROJECT_ROOT, ApiKeys, CommonSettings, ConfigurationError, HttpUrl, RpcSettings, dev_ingest_key, secret,
)


# What `energiepost --help` says of each setting (a test checks every field has a line).
DESCRIPTIONS = {
    "AMQP_URI": "RabbitMQ of the running system (default amqp://guest:guest@127.0.0.1:5672/)",
    "RPC_TIMEOUT_SECONDS": "how long a service may take to answer (default 10)",
    "ENERGIEPOST_API_URL": "the gateway, for publish (default PUBLIC_BASE_URL, else http://127.0.0.1:8000)",
    "PUBLIC_BASE_URL": "the gateway's public address (the default of ENERGIEPOST_API_URL)",
    "ENERGIEPOST_INGEST_KEY": "the ingest API key for publish (default the first of INGEST_API_KEYS, "
                              "else the key `make run` made)",
    "INGEST_API_KEYS": "the gateway's accepted keys; the first one serves when ENERGIEPOST_INGEST_KEY is unset",
    "DATA_DIR": "where `make run` keeps its data (the dev ingest key) (default ./var)",
    "ENERGIEPOST_ENV": "production (default) or development",
}


class CliSettings(CommonSettings, RpcSettings):
    api_url: HttpUrl = Field(alias="ENERGIEPOST_API_URL")  # default: PUBLIC_BASE_URL, else the dev gateway
    public_base_url: HttpUrl | None = Field(None, alias="PUBLIC_BASE_URL")
    ingest_key: str | None = secret("ENERGIEPOST_INGEST_KEY")
    ingest_api_keys: ApiKeys = secret("INGEST_API_KEYS", ())

    @model_validator(mode="before")
    @classmethod
    def _the_gateway_by_default(cls, values):
        if "ENERGIEPOST_API_URL" not in values:
            values = {**values, "ENERGIEPOST_API_URL": values.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000"}
        return values

    def require_ingest_key(self) -> str:
        """ENERGIEPOST_INGEST_KEY, else the first of INGEST_API_KEYS, else the key `make run` made."""
        if self.ingest_key or self.ingest_api_keys:
            return self.ingest_key or self.ingest_api_keys[0]
        for data_dir in (self.data_dir, PROJECT_ROOT / "var"):
            key = dev_ingest_key(data_dir)
            if key:
                return key
        raise ConfigurationError("no ingest key: set ENERGIEPOST_INGEST_KEY (or start the dev system with `make run`)")
