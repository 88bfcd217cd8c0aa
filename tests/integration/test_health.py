"""Health on the real broker: each service's ``health`` RPC, ``energiepost health SERVICE`` (the
compose healthcheck) and the gateway's ``/readyz`` (broker + round trips to auth and files)."""
import shutil
from pathlib import Path

import pytest
import requests

from cli.main import main
from services.auth.service import AuthService
from services.files.service import FilesService
from services.gateway.service import GatewayService
from services.notify.service import NotifyService
from tests.support.system import rpc

ALL = (AuthService, FilesService, NotifyService, GatewayService)


@pytest.fixture
def cli_env(service_config, monkeypatch):
    monkeypatch.setenv("AMQP_URI", service_config["AMQP_URI"])
    monkeypatch.setenv("RPC_TIMEOUT_SECONDS", "3")


def readyz(config):
    return requests.get(f"{config['PUBLIC_BASE_URL']}/readyz", timeout=30)


def test_every_service_answers_health_and_the_cli_exits_0(runner_factory, service_config, cli_env, capsys):
    runner_factory(service_config, *ALL).start()
    for service, checks in (("auth", "broker ok, database ok"), ("files", "broker ok, database ok, blob_store ok"),
                            ("notify", "broker ok, database ok"), ("gateway", "broker ok, blob_store ok")):
        assert rpc(service_config, service, "health")["status"] == "ok"
        assert main(["health", service]) == 0
        out, err = capsys.readouterr()
        assert (out, err) == (f"{service}: ok ({checks})\n", "")


def test_readyz_is_ready_when_the_broker_auth_and_files_answer(runner_factory, service_config):
    runner_factory(service_config, AuthService, FilesService, GatewayService).start()
    response = readyz(service_config)
    assert response.status_code == 200
    assert response.json() == {"service": "gateway", "status": "ok",
                               "checks": {"broker": "ok", "auth": "ok", "files": "ok"}}


def test_readyz_is_503_naming_files_when_files_is_not_running(runner_factory, service_config):
    runner_factory(service_config, AuthService, GatewayService).start()
    response = readyz(service_config)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"] == "ok" and checks["auth"] == "ok"
    assert checks["files"].startswith("ServiceUnavailable")
    healthz = requests.get(f"{service_config['PUBLIC_BASE_URL']}/healthz", timeout=10)
    assert healthz.status_code == 200  # liveness does not depend on other services


def test_a_failing_blob_store_fails_files_health_and_readyz(runner_factory, service_config, cli_env, capsys):
    runner_factory(service_config, AuthService, FilesService, GatewayService).start()
    shutil.rmtree(Path(service_config["BLOB_STORE"].removeprefix("file://")))

    assert main(["health", "files"]) == 4  # unavailable
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("energiepost: files: failing (broker ok, database ok, blob_store PermissionError")
    assert len(err.strip().splitlines()) == 1
    response = readyz(service_config)
    assert response.status_code == 503
    assert response.json()["checks"]["files"] == "RuntimeError: files reports failing: blob_store"


def test_health_of_a_service_that_is_not_running_is_one_line_and_non_zero(rabbit_config, cli_env, capsys):
    assert main(["health", "notify"]) == 4  # unavailable
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("energiepost: the notify service is not running")
    assert len(err.strip().splitlines()) == 1
