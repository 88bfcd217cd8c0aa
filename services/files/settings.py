"""files' settings: its database, the blob store, retention."""
from __future__ import annotations

from pydantic import Field, model_validator

from shared.blobs import BlobStoreSettings
from shared.settings import ClockTime, DatabaseUrl, ServiceSettings, Zone, database_url_field


class FilesSettings(ServiceSettings, BlobStoreSettings):
    database_url: DatabaseUrl = database_url_field("files")
    retention_days: int = Field(30, alias="RETENTION_DAYS", ge=1)
    reminder_days: int = Field(7, alias="REMINDER_DAYS", ge=1)
    retention_at: ClockTime = Field("02:00", alias="RETENTION_AT")
    retention_zone: Zone = Field("Europe/Brussels", alias="RETENTION_ZONE")
    max_extend_days: int = Field(30, alias="MAX_EXTEND_DAYS", ge=0)
    retention_refire_seconds: float = Field(60, alias="RETENTION_REFIRE_SECONDS", gt=0)
    staged_grace_hours: int = Field(24, alias="STAGED_GRACE_HOURS", ge=1)

    @model_validator(mode="after")
    def _reminder_before_deletion(self):
        if self.reminder_days >= self.retention_days:
            raise ValueError(f"REMINDER_DAYS ({self.reminder_days}) must be shorter than "
                             f"RETENTION_DAYS ({self.retention_days})")
        return self
