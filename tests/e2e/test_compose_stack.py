"""The compose stack started for real (dev profile): every service healthy, a community added with
`docker compose run --rm cli`, a file published over the ingest API through the TLS edge, the
e-mail read from Mailpit, the manager logged in (own password, SMS code from the sink's volume)
and the file downloaded.

Needs a Docker engine (found with the ``docker`` SDK, as ``docker`` itself would find it); where
none is reachable the test is skipped once, with the reason.  It builds the image and pulls the
pinned ones: expect minutes on a first run.
"""
import email
import email.policy
import json
import os
import subprocess
import uuid

import pytest
import requests

from shared.settings import PROJECT_ROOT
from tests.support.portal import PortalClient, PortalSystem
from tests.support.sinks import free_port, wait_until

docker = pytest.importorskip("docker")

CONTENT = b"ean;afname;injectie\n541448;12,5;-3,2\n"
SECRETS = PROJECT_ROOT / "deploy" / "secrets"
CERTS = PROJECT_ROOT / "deploy" / "certs"


def engine():
    """The Docker engine's client, or why there is none."""
    try:
        client = docker.from_env(timeout=10)
        client.ping()
        return client, None
    except docker.errors.DockerException as exc:
        return None, str(exc).splitlines()[0]


class Stack:
    def __init__(self, client):
        self.client = client
        self.project = f"energiepost-smoke-{uuid.uuid4().hex[:6]}"
        self.ports = {name: free_port() for name in ("HTTP_PORT", "HTTPS_PORT", "MAILPIT_UI_PORT",
                                                      "RABBITMQ_UI_PORT")}
        self.base_url = f"https://localhost:{self.ports['HTTPS_PORT']}"
        self.env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}, "PUBLIC_BASE_URL": self.base_url}

    def compose(self, *args, timeout=900, check=True):
        command = ["docker", "compose", "-p", self.project, "-f", "compose.yaml", "--env-file", "deploy/dev.env",
                   "--profile", "dev", *args]
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True,
                                timeout=timeout)
        assert not check or result.returncode == 0, f"{' '.join(args)}: {result.stderr[-2000:]}"
        return result

    def containers(self):
        return self.client.containers.list(all=True, filters={"label": f"com.docker.compose.project={self.project}"})

    def container(self, service):
        (found,) = [c for c in self.containers() if c.labels.get("com.docker.compose.service") == service]
        return found


class MailpitMessages:
    """Mailpit's API as the portal helpers' mail sink: ``messages()`` as parsed e-mails."""

    def __init__(self, port):
        self.api = f"http://127.0.0.1:{port}/api/v1"

    def messages(self):
        listed = requests.get(f"{self.api}/messages", timeout=10).json()["messages"]
        return [email.message_from_bytes(requests.get(f"{self.api}/message/{m['ID']}/raw", timeout=10).content,
                                         policy=email.policy.default) for m in reversed(listed)]


class SmsVolume:
    """The SMS sink's file, read inside its container."""

    def __init__(self, container):
        self.container = container

    def messages(self):
        result = self.container.exec_run(["cat", "/data/sms.jsonl"])
        return [json.loads(line) for line in result.output.decode().splitlines() if line.strip()] \
            if result.exit_code == 0 else []


class HttpsPortalClient(PortalClient):
    """The portal over https: the self-signed pair is trusted, the cookies are ``__Host-``."""

    def __init__(self, base_url):
        super().__init__(base_url)
        self.http.verify = str(CERTS / "fullchain.pem")

    @property
    def session_token(self):
        return self.cookie("__Host-session")


@pytest.fixture(scope="module")
def stack():
    client, reason = engine()
    if client is None:
        pytest.skip(f"compose smoke test not run: no Docker engine reachable ({reason})")
    subprocess.run(["make", "-s", "certs", "secrets"], cwd=PROJECT_ROOT, check=True, timeout=300)
    stack = Stack(client)
    try:
        stack.compose("up", "--build", "--detach", "--wait", "--wait-timeout", "600")
        yield stack
    finally:
        stack.compose("down", "--volumes", "--remove-orphans", check=False)


def test_the_stack_starts_publishes_mails_and_downloads(stack):
    for container in stack.containers():
        service = container.labels["com.docker.compose.service"]
        state = container.attrs["State"]
        if service in ("migrate", "s3-init"):
            assert state["Status"] == "exited" and state["ExitCode"] == 0, service
        else:
            assert state["Status"] == "running" and state["Health"]["Status"] == "healthy", service

    added = stack.compose("run", "--rm", "cli", "community", "add", "zonnedelen-gent", "--name", "Zonnedelen Gent",
                          "--email", "beheer@example.be", "--gsm", "0470 12 34 56")
    assert "community zonnedelen-gent added" in added.stdout
    assert stack.compose("run", "--rm", "cli", "health", "files").stdout.startswith("files: ok")

    key = (SECRETS / "ingest_api_keys").read_text().strip()
    published = requests.post(f"{stack.base_url}/api/v1/communities/zonnedelen-gent/files",
                              headers={"Authorization": f"Bearer {key}"},
                              files={"file": ("correcties-2026-10.csv", CONTENT, "text/csv")},
                              verify=str(CERTS / "fullchain.pem"), timeout=60)
    assert published.status_code == 201, published.text
    file_id = published.json()["id"]

    mails = MailpitMessages(stack.ports["MAILPIT_UI_PORT"])
    wait_until(lambda: mails.messages(), timeout=60, interval=1, message="the e-mail in Mailpit")
    portal = PortalSystem({"PUBLIC_BASE_URL": stack.base_url}, mails, SmsVolume(stack.container("sms-sink")))
    logged_in = portal.full_login(HttpsPortalClient(stack.base_url), publish=False)

    downloaded = logged_in.client.download(file_id)
    assert downloaded.status_code == 200 and downloaded.content == CONTENT
    assert downloaded.headers["Strict-Transport-Security"].startswith("max-age=")
