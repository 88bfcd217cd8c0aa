"""The gateway's settings: where it is reached, the ingest API, the portal's limits and keys."""
from __future__ import annotations

from pydantic import Field

from shared.blobs import BlobStoreSettings
from shared.settings import ApiKeys, HttpUrl, Networks, ServiceSettings, secret


class GatewaySettings(ServiceSettings, BlobStoreSettings):
    retired = {"TRUST_FORWARDED_FOR": "was replaced by TRUSTED_PROXIES: the networks of the proxies in front "
                                      "of the gateway (e.g. 172.16.0.0/12), or nothing"}

    public_base_url: HttpUrl = Field("http://127.0.0.1:8000", alias="PUBLIC_BASE_URL")
    helpline: str = Field("078 35 35 34", alias="HELPLINE")
    retention_days: int = Field(30, alias="RETENTION_DAYS", ge=1)
    max_upload_bytes: int = Field(2 * 1024**3, alias="MAX_UPLOAD_BYTES", ge=1)
    ingest_api_keys: ApiKeys = secret("INGEST_API_KEYS", (), required_in_production=True)
    trusted_proxies: Networks = Field((), alias="TRUSTED_PROXIES")
    portal_body_seconds: float = Field(10.0, alias="PORTAL_BODY_SECONDS", ge=0.1)
    request_idle_seconds: float = Field(60.0, alias="REQUEST_IDLE_SECONDS", ge=0.1)
    csrf_secret: str | None = secret("CSRF_SECRET", min_length=32, required_in_production=True)

    @property
    def uses_https(self) -> bool:
        return self.public_base_url.startswith("https://")

    def require_ingest_keys(self) -> tuple[str, ...]:
        """The ingest keys; in development a generated key file stands in."""
        if self.ingest_api_keys:
            return self.ingest_api_keys
        return (self.secret_or_dev("INGEST_API_KEYS", None, dev_file="dev-ingest-key",
                                   hint="comma-separated list of keys of at least 16 characters"),)

    def require_csrf_secret(self) -> str:
        """The key that signs the portal's CSRF tokens; the same for every replica."""
        return self.secret_or_dev("CSRF_SECRET", self.csrf_secret, dev_file="dev-csrf-secret",
                                  hint="a random string of at least 32 characters, the same for every gateway replica")
