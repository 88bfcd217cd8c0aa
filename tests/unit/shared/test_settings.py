from pathlib import Path

import pytest

from shared.settings import ConfigurationError, Settings, dev_ingest_key


def test_defaults_are_the_embedded_set_up(tmp_path):
    settings = Settings.load({"DATA_DIR": str(tmp_path)})
    assert settings.amqp_uri == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.database_url("files") == f"sqlite:///{tmp_path}/files.db"
    assert settings.blob_store == (tmp_path / "blobs").as_uri()
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert (settings.retention_days, settings.reminder_days) == (30, 7)
    assert settings.mail_from == "no-reply@energiepost.local"
    assert settings.max_upload_bytes == 2 * 1024**3
    assert settings.staged_grace_hours == 24
    assert (settings.s3_endpoint_url, settings.s3_access_key_id, settings.s3_secret_access_key) == (None,) * 3


def test_a_service_database_can_be_switched_to_postgresql():
    url = "postgresql+psycopg2://u@db/files"
    assert Settings.load({"DATABASE_URL_FILES": url}).database_url("files") == url


def test_relative_data_dir_is_made_absolute():
    assert Settings.load({"DATA_DIR": "var"}).data_dir == Path.cwd() / "var"


@pytest.mark.parametrize(
    "env, complaint",
    [
        ({"RETENTION_DAYS": "thirty"}, "RETENTION_DAYS must be a whole number"),
        ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS must be at least 1"),
        ({"REMINDER_DAYS": "30"}, "REMINDER_DAYS .* must be shorter than RETENTION_DAYS"),
        ({"PUBLIC_BASE_URL": "example.org"}, "PUBLIC_BASE_URL must be an http"),
        ({"ENERGIEPOST_ENV": "staging"}, "ENERGIEPOST_ENV must be one of"),
        ({"INGEST_API_KEYS": "short"}, "at least 16 characters"),
        ({"SMTP_PORT": "-1"}, "SMTP_PORT must be at least 1"),
        ({"TRUSTED_PROXIES": "172.16.0.0/12, nginx"}, "TRUSTED_PROXIES must list networks"),
        ({"TRUST_FORWARDED_FOR": "true"}, "TRUST_FORWARDED_FOR was replaced by TRUSTED_PROXIES"),
        ({"CSRF_SECRET": "short"}, "CSRF_SECRET must be at least 32 characters"),
        ({"PORTAL_BODY_SECONDS": "0"}, "PORTAL_BODY_SECONDS must be at least"),
        ({"STAGED_GRACE_HOURS": "0"}, "STAGED_GRACE_HOURS must be at least 1"),
        ({"S3_ENDPOINT_URL": "minio:9000"}, "S3_ENDPOINT_URL must be an http"),
    ],
)
def test_invalid_settings_are_refused_with_the_variable_named(env, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        Settings.load(env)


def test_production_refuses_to_run_without_ingest_keys(tmp_path):
    with pytest.raises(ConfigurationError, match="INGEST_API_KEYS is not set"):
        Settings.load({"DATA_DIR": str(tmp_path)}).require_ingest_keys()
    assert not (tmp_path / "dev-ingest-key").exists()


def test_development_generates_one_private_key_and_keeps_it(tmp_path):
    settings = Settings.load({"DATA_DIR": str(tmp_path), "ENERGIEPOST_ENV": "development"})
    (key,) = settings.require_ingest_keys()
    assert len(key) >= 32
    assert settings.require_ingest_keys() == (key,)
    assert dev_ingest_key(tmp_path) == key
    assert (tmp_path / "dev-ingest-key").stat().st_mode & 0o077 == 0


def test_configured_keys_are_split_and_trimmed():
    keys = Settings.load({"INGEST_API_KEYS": " aaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbb "}).require_ingest_keys()
    assert keys == ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb")


def test_trusted_proxies_are_networks_and_single_addresses():
    proxies = Settings.load({"TRUSTED_PROXIES": "172.16.0.0/12, 10.0.0.7 ,fd00::/8"}).trusted_proxies
    assert [str(network) for network in proxies] == ["172.16.0.0/12", "10.0.0.7/32", "fd00::/8"]
    assert Settings.load({}).trusted_proxies == ()  # nobody: the socket's peer is the client


def test_production_refuses_to_run_without_a_csrf_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="CSRF_SECRET is not set"):
        Settings.load({"DATA_DIR": str(tmp_path)}).require_csrf_secret()
    assert Settings.load({"CSRF_SECRET": "s" * 32}).require_csrf_secret() == "s" * 32


def test_development_generates_one_private_csrf_secret_and_keeps_it(tmp_path):
    settings = Settings.load({"DATA_DIR": str(tmp_path), "ENERGIEPOST_ENV": "development"})
    secret = settings.require_csrf_secret()
    assert len(secret) >= 32 and settings.require_csrf_secret() == secret
    assert (tmp_path / "dev-csrf-secret").stat().st_mode & 0o077 == 0
def test_an_initial_password_lasts_seven_days_by_default():
    assert Settings.load({}).initial_password_days == 7
    assert Settings.load({"INITIAL_PASSWORD_DAYS": "3"}).initial_password_days == 3


def test_production_refuses_to_run_without_a_totp_encryption_key(tmp_path):
    with pytest.raises(ConfigurationError, match="TOTP_ENCRYPTION_KEY is not set"):
        Settings.load({"DATA_DIR": str(tmp_path)}).require_totp_key()
    assert not (tmp_path / "dev-totp-key").exists()


def test_development_generates_one_private_totp_key_and_keeps_it(tmp_path):
    settings = Settings.load({"DATA_DIR": str(tmp_path), "ENERGIEPOST_ENV": "development"})
    key = settings.require_totp_key()
    assert len(key) == 32 and settings.require_totp_key() == key
    assert (tmp_path / "dev-totp-key").stat().st_mode & 0o077 == 0


def test_a_configured_totp_key_is_32_bytes_of_url_safe_base64():
    key = Settings.load({"TOTP_ENCRYPTION_KEY": "A" * 42 + "E"}).require_totp_key()
    assert len(key) == 32
    for bad in ("short", "A" * 44, "not base64 at all!" * 3):
        with pytest.raises(ConfigurationError, match="TOTP_ENCRYPTION_KEY must be 32 random bytes"):
            Settings.load({"TOTP_ENCRYPTION_KEY": bad})
