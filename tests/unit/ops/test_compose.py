"""compose.yaml is valid Compose (checked by Debian's docker-compose; no engine needed)."""
import os
import subprocess

import yaml

from services.gateway.settings import GatewaySettings
from shared.settings import PROJECT_ROOT

SECRETS = {"RABBITMQ_PASSWORD": "x" * 24, "POSTGRES_PASSWORD": "x" * 24, "MINIO_ROOT_PASSWORD": "x" * 24,
           "INGEST_API_KEYS": "k" * 32, "CSRF_SECRET": "c" * 32, "TOTP_ENCRYPTION_KEY": "t" * 43,
           "AUTH_SECRET_KEY": "a" * 43}


def config(env):
    return subprocess.run(["docker-compose", "-f", "compose.yaml", "config"], cwd=PROJECT_ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_compose_file_is_valid_and_runs_every_service():
    result = config(SECRETS)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"auth", "files", "notify", "gateway", "migrate", "rabbitmq", "postgres", "minio", "mailpit"} <= set(services)
    for name in ("auth", "files", "notify", "gateway"):
        assert services[name]["command"] == ["python", "-m", "ops.serve", name]  # settings checked, then nameko run
        assert services[name]["environment"]["ENERGIEPOST_ENV"] == "production"
        assert "replicas" in services[name]["deploy"]


def test_secrets_have_no_defaults():
    for name in SECRETS:
        result = config({**SECRETS, name: ""})
        assert result.returncode != 0
        assert name in result.stderr


def test_the_gateway_behind_the_proxy_starts_and_trusts_only_private_networks():
    environment = yaml.safe_load(config(SECRETS).stdout)["services"]["gateway"]["environment"]
    settings = GatewaySettings.load(environment)  # a bad or retired setting would stop it here
    assert settings.trusted_proxies and all(network.is_private for network in settings.trusted_proxies)
    assert settings.require_csrf_secret() == SECRETS["CSRF_SECRET"]


def test_files_and_gateway_share_blobs_through_minio_not_a_disk():
    services = yaml.safe_load(config(SECRETS).stdout)["services"]
    for name in ("files", "gateway"):
        environment = services[name]["environment"]
        assert environment["BLOB_STORE"] == "s3://energiepost/blobs"
        assert environment["S3_ENDPOINT_URL"] == "http://minio:9000"
        assert environment["S3_SECRET_ACCESS_KEY"] == SECRETS["MINIO_ROOT_PASSWORD"]
        assert services[name]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    for name in ("auth", "notify", "migrate"):
        assert not any(variable.startswith("S3_") for variable in services[name]["environment"])
    assert not any("blobs" in str(service.get("volumes", "")) for service in services.values())
