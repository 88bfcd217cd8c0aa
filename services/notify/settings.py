"""notify's settings: its database, the mail server, the SMS gateway, what messages say."""
from __future__ import annotations

from pydantic import Field

from shared.settings import DatabaseUrl, HttpUrl, ServiceSettings, database_url_field


class NotifySettings(ServiceSettings):
    database_url: DatabaseUrl = database_url_field("notify")
    smtp_host: str = Field("127.0.0.1", alias="SMTP_HOST")
    smtp_port: int = Field(1025, alias="SMTP_PORT", ge=1, le=65535)
    smtp_connections: int = Field(4, alias="SMTP_CONNECTIONS", ge=1)  # messages handed over side by side
    mail_from: str = Field("no-reply@energiepost.local", alias="MAIL_FROM")
    sms_gateway_url: HttpUrl = Field("http://127.0.0.1:8026/messages", alias="SMS_GATEWAY_URL")
    public_base_url: HttpUrl = Field("http://127.0.0.1:8000", alias="PUBLIC_BASE_URL")
    helpline: str = Field("078 35 35 34", alias="HELPLINE")
    retention_days: int = Field(30, alias="RETENTION_DAYS", ge=1)
    delivery_retry_seconds: float = Field(30.0, alias="DELIVERY_RETRY_SECONDS", ge=0.1)
