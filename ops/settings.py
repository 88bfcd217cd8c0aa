"""What the ops scripts read: the broker, DATA_DIR and every service's database."""
from __future__ import annotations

from shared.settings import CommonSettings, DatabaseUrl, database_url_field

SERVICES_WITH_DATABASE = ("auth", "files", "notify")


class OpsSettings(CommonSettings):
    auth_database_url: DatabaseUrl = database_url_field("auth")
    files_database_url: DatabaseUrl = database_url_field("files")
    notify_database_url: DatabaseUrl = database_url_field("notify")

    def database_url(self, service: str) -> str:
        return getattr(self, f"{service}_database_url")
