"""notify's settings: its database, the mail server, the SMS gateway, what messages say."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from shared.settings import PRODUCTION, DatabaseUrl, HttpUrl, ServiceSettings, database_url_field, secret

SMS_PROVIDERS = ("http-json",)  # services/notify/sms_providers.py PROVIDERS


class NotifySettings(ServiceSettings):
    database_url: DatabaseUrl = database_url_field("notify")
    smtp_host: str = Field("127.0.0.1", alias="SMTP_HOST")
    smtp_port: int = Field(1025, alias="SMTP_PORT", ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field("starttls", alias="SMTP_SECURITY")
    smtp_allow_plaintext: bool = Field(False, alias="SMTP_ALLOW_PLAINTEXT")  # SMTP_SECURITY=none in production
    smtp_ca_file: Path | None = Field(None, alias="SMTP_CA_FILE")  # trust this CA (else the system's)
    smtp_username: str | None = Field(None, alias="SMTP_USERNAME")
    smtp_password: str | None = secret("SMTP_PASSWORD")
    smtp_timeout_seconds: float = Field(30.0, alias="SMTP_TIMEOUT_SECONDS", gt=0)
    smtp_connections: int = Field(8, alias="SMTP_CONNECTIONS", ge=1)  # messages handed over side by side
    mail_from: str = Field("no-reply@fluvius.be", alias="MAIL_FROM")
    sms_provider: Literal[SMS_PROVIDERS] = Field("http-json", alias="SMS_PROVIDER")
    sms_gateway_url: HttpUrl = Field("http://127.0.0.1:8026/messages", alias="SMS_GATEWAY_URL")
    sms_api_key: str | None = secret("SMS_API_KEY")
    sms_api_key_header: str = Field("X-API-Key", alias="SMS_API_KEY_HEADER", min_length=1)
    sms_sender_id: str = Field("Fluvius", alias="SMS_SENDER_ID", min_length=1, max_length=11)
    sms_to_field: str = Field("to", alias="SMS_TO_FIELD", min_length=1)
    sms_body_field: str = Field("body", alias="SMS_BODY_FIELD", min_length=1)
    sms_sender_field: str = Field("from", alias="SMS_SENDER_FIELD", min_length=1)
    sms_timeout_seconds: float = Field(10.0, alias="SMS_TIMEOUT_SECONDS", gt=0)
    public_base_url: HttpUrl = Field("http://127.0.0.1:8000", alias="PUBLIC_BASE_URL")
    helpline: str = Field("078 35 35 34", alias="HELPLINE")
    retention_days: int = Field(30, alias="RETENTION_DAYS", ge=1)
    delivery_retry_seconds: float = Field(30.0, alias="DELIVERY_RETRY_SECONDS", ge=0.1)

    @model_validator(mode="after")
    def _mail_server(self):
        if self.environment == PRODUCTION and self.smtp_security == "none" and not self.smtp_allow_plaintext:
            raise ValueError("SMTP_SECURITY=none sends mail (and initial passwords) unencrypted: use starttls or "
                             "tls, or set SMTP_ALLOW_PLAINTEXT=true for a relay on a trusted network")
        if bool(self.smtp_username) != bool(self.smtp_password):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither")
        return self
