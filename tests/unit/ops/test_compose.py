"""compose.yaml, checked without a container engine: valid Compose (Debian's docker-compose),
every image pinned, every long-running service health-checked, secrets only as files (never
with a default), and the environment it gives each service passes that service's own
production start checks (``ops.serve``)."""
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from cli.settings import CliSettings
from ops.make_secrets import make_secrets
from ops.settings import OpsSettings
from services.auth.settings import AuthSettings
from services.files.settings import FilesSettings
from services.gateway.settings import GatewaySettings
from services.notify.settings import NotifySettings
from shared.settings import PROJECT_ROOT

PRODUCTION = {"SMTP_HOST": "relay.example.be", "SMS_GATEWAY_URL": "https://sms.example.be/messages",
              "PUBLIC_BASE_URL": "https://energiepost.example.be"}
SERVICES = {"auth": AuthSettings, "files": FilesSettings, "notify": NotifySettings, "gateway": GatewaySettings}
ONE_SHOT = {"migrate", "s3-init", "cli"}
RAW = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())


def compose(*args, env=None):
    clean = {key: value for key, value in os.environ.items() if key not in PRODUCTION}
    return subprocess.run(["docker-compose", "-p", "energiepost", "-f", "compose.yaml", *args], cwd=PROJECT_ROOT,
                          env={**clean, **(env or {})}, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def services():
    result = compose("--profile", "dev", "config", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def test_compose_config_is_valid_for_production_and_for_the_dev_profile():
    assert compose("config", "-q", env=PRODUCTION).returncode == 0
    dev = compose("--env-file", "deploy/dev.env", "--profile", "dev", "config", "-q")
    assert dev.returncode == 0, dev.stderr


def test_the_mail_relay_and_sms_provider_are_required_outside_the_dev_env_file():
    for name in ("SMTP_HOST", "SMS_GATEWAY_URL"):
        result = compose("config", "-q", env={**PRODUCTION, name: ""})
        assert result.returncode != 0 and f"set {name}" in result.stderr


def test_every_image_is_pinned_to_a_version(services):
    version = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert set(services) == set(RAW["services"])  # the dev and cli profiles included
    for name, service in services.items():
        repository, _, tag = service["image"].rpartition(":")
        assert repository and re.fullmatch(r"v?\d+(\.\d+)+(-[a-z0-9]+)*", tag), f"{name}: {service['image']} is not pinned"
        if repository == "energiepost":
            assert tag == version  # the image built here carries the project's version


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in RAW["services"].items():
        if name in ONE_SHOT:
            assert service["restart"] == "no"
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in SERVICES:
        assert "energiepost health " + name in " ".join(services[name]["healthcheck"]["test"])


def test_services_start_only_once_what_they_need_is_healthy(services):
    for name in SERVICES:
        needs = services[name]["depends_on"]
        assert needs["rabbitmq"]["condition"] == needs["postgres"]["condition"] == "service_healthy"
        assert needs["migrate"]["condition"] == "service_completed_successfully"
    assert services["gateway"]["depends_on"]["auth"]["condition"] == "service_healthy"
    assert services["edge"]["depends_on"]["gateway"]["condition"] == "service_healthy"
    for name in ("files", "gateway"):
        assert services[name]["depends_on"]["s3-init"]["condition"] == "service_completed_successfully"


def test_mail_and_sms_sinks_run_only_in_the_dev_profile():
    for name in ("mailpit", "sms-sink"):
        assert RAW["services"][name]["profiles"] == ["dev"]
    for service in RAW["services"].values():
        assert not {"mailpit", "sms-sink"} & set(service.get("depends_on", {}))


def test_secrets_are_files_without_defaults():
    text = (PROJECT_ROOT / "compose.yaml").read_text()
    for name, secret in RAW["secrets"].items():
        assert set(secret) == {"file"} and secret["file"] == f"./deploy/secrets/{name}"
    secret_words = re.compile(r"PASSWORD|SECRET|_KEY|AMQP_URI|DATABASE_URL|TOKEN", re.I)
    for variable, default in re.findall(r"\$\{(\w+):?[-?]([^}]*)\}", text):
        assert not secret_words.search(variable), f"${{{variable}}} in compose.yaml: secrets come from files"
    for name, service in RAW["services"].items():
        environment = service.get("environment", {})
        environment = {k: v for part in (environment if isinstance(environment, list) else [environment])
                       for k, v in part.items()}
        mounted = set(service.get("secrets", []))
        for variable, value in environment.items():
            if variable.endswith("_FILE"):
                assert value.startswith("/run/secrets/") and value.removeprefix("/run/secrets/") in mounted, \
                    f"{name}: {variable} names a secret it does not mount"
            else:
                assert not secret_words.search(variable), f"{name}: {variable} is given as a value, not a file"


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("secrets")
    make_secrets(directory)
    return directory


def settings_environment(service, secrets_dir):
    """The service's environment as compose gives it, with the secret files where make_secrets put them."""
    return {key: str(value).replace("/run/secrets", str(secrets_dir)) for key, value in service["environment"].items()}


def test_each_service_passes_its_production_start_checks_with_the_compose_environment(services, secrets_dir):
    for name, cls in SERVICES.items():
        environment = settings_environment(services[name], secrets_dir)
        assert services[name]["environment"]["AMQP_URI_FILE"] == f"/run/secrets/amqp_uri_{name}"  # its own user
        environment["AMQP_URI"] = Path(environment.pop("AMQP_URI_FILE")).read_text().strip()  # as ops.serve does
        settings = cls.load(environment)
        assert settings.environment == "production"
        assert settings.production_problems() == [], name
        assert set(cls.required_secrets()) <= {key.removesuffix("_FILE") for key in environment}
    gateway = GatewaySettings.load(settings_environment(services["gateway"], secrets_dir))
    assert gateway.trusted_proxies and all(network.is_private for network in gateway.trusted_proxies)
    files = FilesSettings.load(settings_environment(services["files"], secrets_dir))
    assert files.blob_store == "s3://energiepost/blobs" and files.s3_secret_access_key
    for name in ("auth", "notify", "migrate", "cli"):
        assert not any(variable.startswith("S3_") for variable in services[name]["environment"])


def test_each_service_gets_only_its_own_database(services, secrets_dir):
    for name in ("auth", "files", "notify"):
        databases = {key for key in services[name]["environment"] if key.startswith("DATABASE_URL_")}
        assert databases == {f"DATABASE_URL_{name.upper()}_FILE"}
    ops = OpsSettings.load(settings_environment(services["migrate"], secrets_dir))
    assert {ops.database_url(name).rsplit("/", 1)[1] for name in ("auth", "files", "notify")} == \
        {"auth", "files", "notify"}


def test_the_cli_service_reaches_the_broker_and_the_gateway(services, secrets_dir):
    cli = services["cli"]
    assert cli["entrypoint"] == ["energiepost"] and cli["profiles"] == ["cli"]
    settings = CliSettings.load(settings_environment(cli, secrets_dir))
    assert settings.amqp_uri.startswith("amqp://energiepost-cli:") and settings.amqp_uri.endswith("/energiepost")
    assert settings.api_url == "http://gateway:8000" and settings.require_ingest_key()
    for name in SERVICES:  # each healthcheck runs the CLI with its service's environment
        assert CliSettings.load(settings_environment(services[name], secrets_dir)).amqp_uri.endswith("/energiepost")


def test_the_image_is_multi_stage_non_root_and_without_tests():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert len(stages) == 2
    assert re.search(r"^ARG PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+$", dockerfile, re.M)
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)
    assert "requirements.txt" in dockerfile and "requirements-dev" not in dockerfile
    assert not re.search(r"^COPY (\.|tests|bench)\b", dockerfile, re.M)
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert {"tests", "bench", "deploy/secrets", ".venv"} <= set(ignored)


def requirements(name):
    return [line for line in (PROJECT_ROOT / name).read_text().splitlines() if line and not line.startswith("#")]


def test_runtime_requirements_hold_no_test_packages_and_match_pyproject():
    runtime = requirements("requirements.txt")
    assert all(re.match(r"^[\w.\-\[\]]+==\S+$", line) for line in runtime)
    names = {re.split(r"[=\[]", line)[0].lower() for line in runtime}
    assert not names & {"pytest", "playwright", "moto", "aiosmtpd", "honcho", "openapi-spec-validator", "docker"}
    declared = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert declared and set(declared) <= set(runtime)
    development = requirements("requirements-dev.txt")
    assert development[0] == "-r requirements.txt"
    assert {"pytest==9.2.0", "playwright==1.65.2"} <= set(development)
