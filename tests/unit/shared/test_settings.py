import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from cli.settings import CliSettings
from ops.settings import OpsSettings
from services.auth.settings import AuthSettings
from services.files.service import FilesService
from services.files.settings import FilesSettings
from services.gateway.settings import GatewaySettings
from services.notify.settings import NotifySettings
from shared.settings import PROJECT_ROOT, ConfigurationError, dev_ingest_key


def test_defaults_are_the_embedded_set_up(tmp_path):
    data_dir = {"DATA_DIR": str(tmp_path)}
    files, notify, gateway = FilesSettings.load(data_dir), NotifySettings.load(data_dir), GatewaySettings.load(data_dir)
    assert files.amqp_uri == "amqp://guest:guest@127.0.0.1:5672/"
    assert files.database_url == f"sqlite:///{tmp_path}/files.db"
    assert AuthSettings.load(data_dir).database_url == f"sqlite:///{tmp_path}/auth.db"
    assert files.blob_store == gateway.blob_store == (tmp_path / "blobs").as_uri()
    assert notify.public_base_url == gateway.public_base_url == "http://127.0.0.1:8000"
    assert (files.retention_days, files.reminder_days) == (30, 7)
    assert notify.mail_from == "no-reply@fluvius.be"
    assert gateway.max_upload_bytes == 2 * 1024**3
    assert files.staged_grace_hours == 24
    assert (files.s3_endpoint_url, files.s3_access_key_id, files.s3_secret_access_key) == (None,) * 3
    assert files.rpc_timeout == gateway.rpc_timeout == CliSettings.load({}).rpc_timeout == 10.0


def test_each_service_reads_only_its_own_settings():
    bad_mail_port = {"SMTP_PORT": "abc"}
    GatewaySettings.load(bad_mail_port)  # the gateway sends no mail: not its business
    FilesSettings.load(bad_mail_port)
    with pytest.raises(ConfigurationError, match="SMTP_PORT must be a whole number, not 'abc'"):
        NotifySettings.load(bad_mail_port)
    assert "smtp_port" not in GatewaySettings.model_fields and "csrf_secret" not in NotifySettings.model_fields


@pytest.mark.parametrize("url", ["postgresql://u:pw@db/files", "postgres://u:pw@db/files",
                                 "postgresql+psycopg2://u:pw@db/files"])
def test_a_plain_postgresql_url_means_the_installed_driver(url):
    assert FilesSettings.load({"DATABASE_URL_FILES": url}).database_url == "postgresql+psycopg2://u:pw@db/files"


def test_a_database_url_for_a_driver_that_is_not_installed_is_refused_in_one_line_without_its_password():
    with pytest.raises(ConfigurationError) as refused:
        FilesSettings.load({"DATABASE_URL_FILES": "postgresql+psycopg://u:geheim@db/files"})
    (line,) = str(refused.value).splitlines()
    assert line.startswith("DATABASE_URL_FILES must be sqlite:///PATH or postgresql://") and "geheim" not in line


def test_relative_data_dir_is_made_absolute():
    assert FilesSettings.load({"DATA_DIR": "var"}).data_dir == Path.cwd() / "var"


@pytest.mark.parametrize(
    "cls, env, complaint",
    [
        (FilesSettings, {"RETENTION_DAYS": "thirty"}, "RETENTION_DAYS must be a whole number"),
        (FilesSettings, {"RETENTION_DAYS": "0"}, "RETENTION_DAYS must be at least 1"),
        (FilesSettings, {"REMINDER_DAYS": "30"}, "REMINDER_DAYS .* must be shorter than RETENTION_DAYS"),
        (FilesSettings, {"RETENTION_AT": "2u"}, "RETENTION_AT must be a time of day as HH:MM"),
        (FilesSettings, {"RETENTION_ZONE": "Europe/Gent"}, "RETENTION_ZONE must be a time zone"),
        (FilesSettings, {"STAGED_GRACE_HOURS": "0"}, "STAGED_GRACE_HOURS must be at least 1"),
        (FilesSettings, {"S3_ENDPOINT_URL": "minio:9000"}, "S3_ENDPOINT_URL must be an http"),
        (NotifySettings, {"PUBLIC_BASE_URL": "example.org"}, "PUBLIC_BASE_URL must be an http"),
        (NotifySettings, {"SMTP_PORT": "-1"}, "SMTP_PORT must be at least 1"),
        (AuthSettings, {"ENERGIEPOST_ENV": "staging"}, "ENERGIEPOST_ENV must be one of 'development' or 'production'"),
        (AuthSettings, {"SMS_CODE_SECONDS": "10"}, "SMS_CODE_SECONDS must be at least 30"),
        (GatewaySettings, {"INGEST_API_KEYS": "short"}, "INGEST_API_KEYS every key must be at least 16 characters"),
        (GatewaySettings, {"TRUSTED_PROXIES": "172.16.0.0/12, nginx"}, "TRUSTED_PROXIES must list networks"),
        (GatewaySettings, {"TRUST_FORWARDED_FOR": "true"}, "TRUST_FORWARDED_FOR was replaced by TRUSTED_PROXIES"),
        (GatewaySettings, {"CSRF_SECRET": "short"}, "CSRF_SECRET must be at least 32 characters"),
        (GatewaySettings, {"PORTAL_BODY_SECONDS": "0"}, "PORTAL_BODY_SECONDS must be at least"),
        (CliSettings, {"RPC_TIMEOUT_SECONDS": "abc"}, "RPC_TIMEOUT_SECONDS must be a number, not 'abc'"),
    ],
)
def test_invalid_settings_are_refused_with_the_variable_named(cls, env, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        cls.load(env)


def test_every_problem_gets_its_own_line_and_a_secret_is_never_echoed():
    with pytest.raises(ConfigurationError) as refused:
        GatewaySettings.load({"CSRF_SECRET": "te-kort-geheim", "MAX_UPLOAD_BYTES": "veel", "RETENTION_DAYS": "-3"})
    lines = str(refused.value).splitlines()
    assert sorted(lines) == sorted([
        "CSRF_SECRET must be at least 32 characters long",
        "MAX_UPLOAD_BYTES must be a whole number, not 'veel'",
        "RETENTION_DAYS must be at least 1, not '-3'",
    ])
    assert "te-kort-geheim" not in str(refused.value)
    assert "te-kort" not in repr(GatewaySettings.load({"CSRF_SECRET": "te-kort-geheim" * 3}))


def test_a_secret_may_come_from_a_file(tmp_path):
    (tmp_path / "csrf").write_text("c" * 40 + "\n")
    settings = GatewaySettings.load({"CSRF_SECRET_FILE": str(tmp_path / "csrf")})
    assert settings.require_csrf_secret() == "c" * 40


def test_a_secret_file_must_be_readable_and_not_set_twice(tmp_path):
    with pytest.raises(ConfigurationError, match=r"CSRF_SECRET_FILE: cannot read .*missing"):
        GatewaySettings.load({"CSRF_SECRET_FILE": str(tmp_path / "missing")})
    (tmp_path / "csrf").write_text("c" * 40)
    with pytest.raises(ConfigurationError, match="set either CSRF_SECRET or CSRF_SECRET_FILE, not both"):
        GatewaySettings.load({"CSRF_SECRET_FILE": str(tmp_path / "csrf"), "CSRF_SECRET": "d" * 40})


def test_empty_values_count_as_unset():
    assert NotifySettings.load({"SMTP_PORT": "", "SMTP_HOST": "  "}).smtp_port == 1025


def test_production_refuses_to_run_without_ingest_keys(tmp_path):
    with pytest.raises(ConfigurationError, match="INGEST_API_KEYS is not set"):
        GatewaySettings.load({"DATA_DIR": str(tmp_path)}).require_ingest_keys()
    assert not (tmp_path / "dev-ingest-key").exists()


def test_development_generates_one_private_key_and_keeps_it(tmp_path):
    settings = GatewaySettings.load({"DATA_DIR": str(tmp_path), "ENERGIEPOST_ENV": "development"})
    (key,) = settings.require_ingest_keys()
    assert len(key) >= 32
    assert settings.require_ingest_keys() == (key,)
    assert dev_ingest_key(tmp_path) == key
    assert CliSettings.load({"DATA_DIR": str(tmp_path)}).require_ingest_key() == key  # the CLI finds it
    assert (tmp_path / "dev-ingest-key").stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir()] == ["dev-ingest-key"]  # no draft left behind


def test_configured_keys_are_split_and_trimmed():
    keys = GatewaySettings.load({"INGEST_API_KEYS": " aaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbb "}).require_ingest_keys()
    assert keys == ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb")


def test_the_cli_finds_the_gateway_and_its_key():
    assert CliSettings.load({}).api_url == "http://127.0.0.1:8000"
    assert CliSettings.load({"PUBLIC_BASE_URL": "https://documenten.example/"}).api_url == "https://documenten.example"
    settings = CliSettings.load({"ENERGIEPOST_API_URL": "http://gateway:8000", "PUBLIC_BASE_URL": "https://x.example",
                                 "INGEST_API_KEYS": "k" * 16 + ",l" + "l" * 15, "ENERGIEPOST_INGEST_KEY": "m" * 20})
    assert (settings.api_url, settings.require_ingest_key()) == ("http://gateway:8000", "m" * 20)


def test_trusted_proxies_are_networks_and_single_addresses():
    proxies = GatewaySettings.load({"TRUSTED_PROXIES": "172.16.0.0/12, 10.0.0.7 ,fd00::/8"}).trusted_proxies
    assert [str(network) for network in proxies] == ["172.16.0.0/12", "10.0.0.7/32", "fd00::/8"]
    assert GatewaySettings.load({}).trusted_proxies == ()  # nobody: the socket's peer is the client


def test_production_refuses_to_run_without_a_csrf_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="CSRF_SECRET is not set"):
        GatewaySettings.load({"DATA_DIR": str(tmp_path)}).require_csrf_secret()
    assert GatewaySettings.load({"CSRF_SECRET": "s" * 32}).require_csrf_secret() == "s" * 32


def test_development_generates_one_private_csrf_secret_and_keeps_it(tmp_path):
    settings = GatewaySettings.load({"DATA_DIR": str(tmp_path), "ENERGIEPOST_ENV": "development"})
    secret = settings.require_csrf_secret()
    assert len(secret) >= 32 and settings.require_csrf_secret() == secret
    assert (tmp_path / "dev-csrf-secret").stat().st_mode & 0o077 == 0


def test_an_initial_password_lasts_seven_days_by_default():
    assert AuthSettings.load({}).initial_password_days == 7
    assert AuthSettings.load({"INITIAL_PASSWORD_DAYS": "3"}).initial_password_days == 3


def test_production_refuses_to_run_without_a_totp_encryption_key(tmp_path):
    with pytest.raises(ConfigurationError, match="TOTP_ENCRYPTION_KEY is not set"):
        AuthSettings.load({"DATA_DIR": str(tmp_path)}).require_totp_key()
    assert not (tmp_path / "dev-totp-key").exists()


def test_development_generates_one_private_totp_key_and_keeps_it(tmp_path):
    settings = AuthSettings.load({"DATA_DIR": str(tmp_path), "ENERGIEPOST_ENV": "development"})
    key = settings.require_totp_key()
    assert len(key) == 32 and settings.require_totp_key() == key
    assert (tmp_path / "dev-totp-key").stat().st_mode & 0o077 == 0


def test_a_configured_totp_key_is_32_bytes_of_url_safe_base64():
    key = AuthSettings.load({"TOTP_ENCRYPTION_KEY": "A" * 42 + "E"}).require_totp_key()
    assert len(key) == 32
    for bad in ("short", "A" * 44, "not base64 at all!" * 3):
        with pytest.raises(ConfigurationError, match="TOTP_ENCRYPTION_KEY must be 32 random bytes") as refused:
            AuthSettings.load({"TOTP_ENCRYPTION_KEY": bad})
        assert bad not in str(refused.value)


def test_the_ops_scripts_know_every_database():
    settings = OpsSettings.load({"DATABASE_URL_NOTIFY": "postgresql://u@db/notify", "DATA_DIR": "/srv"})
    assert settings.database_url("notify") == "postgresql+psycopg2://u@db/notify"
    assert settings.database_url("auth") == "sqlite:////srv/auth.db"


def test_a_service_parses_its_settings_once_per_container(container_factory, rabbit_config, tmp_path):
    config = {**rabbit_config, "DATA_DIR": str(tmp_path), "BLOB_STORE": (tmp_path / "blobs").as_uri()}
    with mock.patch.object(FilesSettings, "load", wraps=FilesSettings.load) as load:
        container = container_factory(FilesService, config)  # settings, database, blobs, RPC: four readers
        container.start()
        container.stop()
    assert load.call_count == 1


def test_a_service_with_a_bad_setting_says_so_in_one_line_and_does_not_start(tmp_path):
    started = subprocess.run(
        [sys.executable, "-m", "ops.serve", "notify"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "SMTP_PORT": "abc", "DELIVERY_RETRY_SECONDS": "0", "DATA_DIR": str(tmp_path)},
    )
    assert started.returncode == 2
    assert sorted(started.stderr.splitlines()) == [
        "energiepost notify: invalid setting: DELIVERY_RETRY_SECONDS must be at least 0.1, not '0'",
        "energiepost notify: invalid setting: SMTP_PORT must be a whole number, not 'abc'",
    ]


def serve(service, env, tmp_path):
    return subprocess.run([sys.executable, "-m", "ops.serve", service], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), **env})


def test_production_refuses_to_start_without_its_secrets_naming_each(tmp_path):
    started = serve("gateway", {"PUBLIC_BASE_URL": "https://energiepost.example.be"}, tmp_path)
    assert started.returncode == 2
    assert started.stderr.splitlines() == [
        f"energiepost gateway: invalid setting: {name} is not set (required in production; "
        f"or {name}_FILE naming a file that holds it)" for name in ("INGEST_API_KEYS", "CSRF_SECRET")]
    started = serve("auth", {}, tmp_path)
    assert started.returncode == 2 and "TOTP_ENCRYPTION_KEY is not set" in started.stderr


def test_production_refuses_a_public_base_url_that_is_not_https(tmp_path):
    secrets_given = {"INGEST_API_KEYS": "k" * 32, "CSRF_SECRET": "c" * 32}
    started = serve("gateway", {**secrets_given, "PUBLIC_BASE_URL": "http://energiepost.example.be"}, tmp_path)
    assert started.returncode == 2
    assert started.stderr == ("energiepost gateway: invalid setting: PUBLIC_BASE_URL must be an https:// URL in "
                              "production (the TLS edge's address; plain http only on a loopback address), "
                              "not 'http://energiepost.example.be'\n")
    assert "PUBLIC_BASE_URL" in serve("notify", {"PUBLIC_BASE_URL": "http://10.0.0.5:8000"}, tmp_path).stderr


def test_the_production_checks_do_not_apply_in_development_or_on_loopback():
    from services.gateway.settings import GatewaySettings
    from services.notify.settings import NotifySettings

    assert GatewaySettings.load({"ENERGIEPOST_ENV": "development",
                                 "PUBLIC_BASE_URL": "http://example.be"}).production_problems() == []
    for url in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000", "https://example.be"):
        assert NotifySettings.load({"PUBLIC_BASE_URL": url}).production_problems() == []


def test_required_secrets_are_declared_per_service():
    from services.auth.settings import AuthSettings
    from services.gateway.settings import GatewaySettings

    assert AuthSettings.required_secrets() == ("TOTP_ENCRYPTION_KEY", "AUTH_SECRET_KEY")
    assert GatewaySettings.required_secrets() == ("INGEST_API_KEYS", "CSRF_SECRET")
    assert FilesSettings.required_secrets() == ()
    on_s3 = FilesSettings.load({"BLOB_STORE": "s3://energiepost/blobs", "S3_ACCESS_KEY_ID": "energiepost"})
    assert on_s3.missing_secrets() == ["S3_SECRET_ACCESS_KEY"]


def test_the_broker_uri_may_come_from_a_file(tmp_path):
    from ops.serve import amqp_uri_from_file

    (tmp_path / "amqp_uri").write_text("amqp://energiepost:s3cr3t@rabbitmq:5672/energiepost\n")
    environ = {"AMQP_URI_FILE": str(tmp_path / "amqp_uri")}
    assert amqp_uri_from_file(environ) is None
    assert environ == {"AMQP_URI": "amqp://energiepost:s3cr3t@rabbitmq:5672/energiepost"}
    assert amqp_uri_from_file({"AMQP_URI_FILE": str(tmp_path / "none")}).startswith("AMQP_URI_FILE: cannot read")
