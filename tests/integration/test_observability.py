"""Metrics and logs of the four services as the Procfile starts them (``python -m ops.serve``):
Prometheus metrics scraped over HTTP move as the system works, and one publish can be
followed by its correlation id through the JSON logs of gateway, files and notify."""
import json
import os

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from ops.declare_queues import declare
from services.auth.service import AuthService
from services.files.models import OutboxMessage
from services.files.service import FilesService
from services.gateway.service import GatewayService
from services.notify.models import Delivery
from services.notify.service import NotifyService
from tests.support.launch import ServiceProcess
from tests.support.sinks import free_port, wait_until
from tests.support.system import add_community, ingest, rpc

SERVICES = ("auth", "files", "notify", "gateway")


@pytest.fixture
def system(service_config, tmp_path):
    """The four services as processes, JSON logs to ``<service>.log``, metrics each on a port of its own."""
    declare(service_config["AMQP_URI"])
    base = {**os.environ, **{name: str(value) for name, value in service_config.items()},
            "GATEWAY_ADDRESS": service_config["WEB_SERVER_ADDRESS"], "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    ports = {service: free_port() for service in SERVICES}
    started = {service: ServiceProcess(service, {**base, "METRICS_PORT": str(ports[service])},
                                       tmp_path / f"{service}.log") for service in SERVICES}
    try:
        for service in ("auth", "files", "notify"):
            started[service].wait_consuming(f"rpc-{service}")
        wait_until(lambda: _answers(f"{service_config['PUBLIC_BASE_URL']}/healthz"), timeout=60,
                   message="the gateway")
        yield {"config": service_config, "ports": ports, "logs": {s: tmp_path / f"{s}.log" for s in SERVICES}}
    finally:
        for process in started.values():
            process.stop()


def _answers(url):
    try:
        return requests.get(url, timeout=1).ok
    except requests.ConnectionError:
        return False


def scrape(port) -> dict:
    """Every sample the service at ``port`` exports: {(name, sorted labels): value}."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def json_lines(path):
    """Every line of a service's log as JSON (each must parse), skipping nameko's start-up banner."""
    lines = [line for line in path.read_text().splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]


def test_one_publish_moves_the_metrics_and_is_followed_by_its_correlation_id(system, mail_sink):
    """One system start for both (four processes are slow to start on a shared machine)."""
    config, ports = system["config"], system["ports"]
    before = {service: scrape(port) for service, port in ports.items()}
    add_community(config)
    answer = ingest(config)
    assert answer.status_code == 201, answer.text
    mail_sink.wait_for(1)
    with pytest.raises(Exception):
        rpc(config, "auth", "start_login", login_name="beheer@example.be", password="not the password")
    followed_in_the_logs(system, answer)
    counted_in_the_metrics(ports, before)


def followed_in_the_logs(system, answer):
    config = system["config"]
    correlation_id = answer.headers["X-Correlation-ID"]

    def followed():
        found = {service: [line for line in json_lines(system["logs"][service])
                           if line["correlation_id"] == correlation_id]
                 for service in ("gateway", "files", "notify")}
        return all(found.values()) and any("sent to the mail server" in line["message"] for line in found["notify"]) \
            and found

    found = wait_until(followed, timeout=20, message="the publish in the logs of gateway, files and notify")
    file_id = answer.json()["id"]
    assert any(file_id in line["message"] for line in found["gateway"])
    assert any(f"file {file_id} published" in line["message"] for line in found["files"])
    assert {line["service"] for service in found for line in found[service]} == {"gateway", "files", "notify"}
    for service in SERVICES:  # every line of every service parses, and none carries a secret
        text = system["logs"][service].read_text()
        assert config["INGEST_API_KEYS"] not in text


def counted_in_the_metrics(ports, before):
    files = scrape(ports["files"])
    assert value(files, "energiepost_files_published_total", kind="periodic") == \
        value(before["files"], "energiepost_files_published_total", kind="periodic") + 1
    assert value(files, "energiepost_entrypoint_seconds_count", service="files", entrypoint="publish_file",
                 type="rpc", outcome="ok") == 1
    assert ("energiepost_outbox_backlog", (("service", "files"),)) in files

    notify = wait_until(lambda: (s := scrape(ports["notify"])) and value(
        s, "energiepost_deliveries_total", kind="file_published", outcome="sent") == 1 and s, timeout=10,
        message="the sent e-mail counted")
    assert ("energiepost_deliveries_pending", (("kind", "file_published"),)) in notify
    assert value(notify, "energiepost_entrypoint_seconds_count", service="notify", entrypoint="on_file_published",
                 type="event", outcome="ok") == 1

    auth = scrape(ports["auth"])
    assert value(auth, "energiepost_login_failures_total") == value(before["auth"], "energiepost_login_failures_total") + 1
    assert value(auth, "energiepost_entrypoint_seconds_count", service="auth", entrypoint="start_login", type="rpc",
                 outcome="error") == 1

    gateway = scrape(ports["gateway"])
    assert value(gateway, "energiepost_entrypoint_seconds_count", service="gateway", entrypoint="ingest_file",
                 type="http", outcome="ok") == 1


def test_an_upstream_correlation_id_is_kept_through_the_outbox_to_the_delivery(runner_factory, service_config,
                                                                               mail_sink, open_session):
    """The settlement system's own request id: answered back, in files' event, with notify's delivery."""
    runner_factory(service_config, AuthService, FilesService, NotifyService, GatewayService).start()
    add_community(service_config)
    answer = publish(service_config, "settlement-2026-11-0042")
    assert answer.status_code == 201, answer.text
    assert answer.headers["X-Correlation-ID"] == "settlement-2026-11-0042"
    mail_sink.wait_for(1)
    (event,) = open_session("files").query(OutboxMessage).all()
    assert event.payload["correlation_id"] == "settlement-2026-11-0042"
    (delivery,) = open_session("notify").query(Delivery).all()
    assert delivery.data["correlation_id"] == "settlement-2026-11-0042"

    unfit = publish(service_config, "{\"level\": \"ERROR\"}")  # not fit for a log line: replaced by a new one
    assert unfit.status_code == 201 and len(unfit.headers["X-Correlation-ID"]) == 32


def publish(config, correlation_id):
    return requests.post(f"{config['PUBLIC_BASE_URL']}/api/v1/communities/zonnedelen-gent/files",
                         headers={"Authorization": f"Bearer {config['INGEST_API_KEYS']}",
                                  "X-Correlation-ID": correlation_id},
                         files={"file": ("correcties.csv", b"ean;afname\n", "text/csv")}, timeout=30)
