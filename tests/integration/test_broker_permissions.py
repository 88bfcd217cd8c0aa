"""A broker user per service, with only the permissions ops.make_secrets.BROKER_PERMISSIONS gives
it (the table deploy/README.md documents): the queue declaration, the services, the CLI's RPC, a
publish through the gateway and its e-mail all work on the real broker, and a user cannot read
another service's queue."""
import secrets
from urllib.parse import quote, urlsplit

import eventlet
import pytest
import requests
from amqp.exceptions import AccessRefused
from kombu import Connection

from ops.declare_queues import declare
from ops.make_secrets import BROKER_PERMISSIONS
from services.auth.service import AuthService
from services.files.service import FilesService
from services.gateway.service import GatewayService
from services.notify.service import NotifyService
from tests.support.launch import RABBIT_API_URI
from tests.support.sinks import wait_until
from tests.support.system import add_community, ingest, rpc

SERVICES = {"auth": AuthService, "files": FilesService, "notify": NotifyService, "gateway": GatewayService}
START_SECONDS = 30  # a refused declaration makes nameko retry for ever: fail instead of hanging


def start(container_factory, cls, config):
    container = container_factory(cls, config)
    with eventlet.Timeout(START_SECONDS, AssertionError(f"{cls.name} did not start with its permissions")):
        container.start()


@pytest.fixture
def broker_users(rabbit_config):
    """``{user: amqp URI}`` on the test's vhost, each with its documented permissions only."""
    api = urlsplit(RABBIT_API_URI)
    base, auth = f"{api.scheme}://{api.hostname}:{api.port}/api", (api.username, api.password)
    broker = urlsplit(rabbit_config["AMQP_URI"])
    vhost = broker.path.lstrip("/")
    suffix = secrets.token_hex(4)
    uris = {}
    try:
        for name, permissions in BROKER_PERMISSIONS.items():
            user, password = f"ep_{name}_{suffix}", secrets.token_hex(16)
            requests.put(f"{base}/users/{user}", auth=auth, json={"password": password, "tags": ""},
                         timeout=10).raise_for_status()
            uris[name] = f"amqp://{user}:{password}@{broker.hostname}:{broker.port}/{quote(vhost, safe='')}"
            requests.put(f"{base}/permissions/{quote(vhost, safe='')}/{user}", auth=auth, json=permissions,
                         timeout=10).raise_for_status()
        yield uris
    finally:
        for name in BROKER_PERMISSIONS:
            requests.delete(f"{base}/users/ep_{name}_{suffix}", auth=auth, timeout=10)


def test_each_service_works_with_only_its_own_permissions(container_factory, service_config, broker_users,
                                                          mail_sink):
    assert declare(broker_users["migrate"])  # the handler and upstream queues, before any service
    for name, cls in SERVICES.items():
        start(container_factory, cls, {**service_config, "AMQP_URI": broker_users[name]})
    operator = {**service_config, "AMQP_URI": broker_users["cli"]}

    add_community(operator)
    for name in SERVICES:
        assert rpc(operator, name, "health")["status"] == "ok"
        own = {**service_config, "AMQP_URI": broker_users[name]}
        assert rpc(own, name, "health")["status"] == "ok"  # its healthcheck runs with its own user
    assert requests.get(f"{service_config['PUBLIC_BASE_URL']}/readyz", timeout=30).status_code == 200
    published = ingest(service_config)
    assert published.status_code == 201
    (mail,) = mail_sink.wait_for(1)
    assert mail["To"] == "beheer@example.be"
    # notify's file_emailed (its own exchange) reaches files: the event path between two users
    wait_until(lambda: rpc(operator, "files", "list_files", community_id="zonnedelen-gent")[0]["emailed_at"],
               timeout=30, interval=0.2, message="files to record the e-mail")


def test_a_user_cannot_read_another_services_queue(container_factory, service_config, broker_users):
    start(container_factory, AuthService, {**service_config, "AMQP_URI": broker_users["auth"]})
    with Connection(broker_users["gateway"]) as connection:
        with pytest.raises(AccessRefused):
            connection.channel().basic_get("rpc-auth")
