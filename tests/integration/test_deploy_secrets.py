"""The compose stack's secrets work where they are used: the broker accepts the password behind
the definitions' hash, and PostgreSQL's init script gives each service a user and a database of
its own (run here against the real broker and the real PostgreSQL)."""
import os
import subprocess
import uuid
from urllib.parse import quote, urlsplit

import psycopg2
import pytest
import requests
from kombu import Connection

from ops.make_secrets import make_secrets, rabbitmq_definitions
from shared.settings import PROJECT_ROOT
from tests.support.databases import POSTGRES_DSN
from tests.support.launch import AMQP_URI, RABBIT_API_URI

INIT_SCRIPT = PROJECT_ROOT / "deploy" / "postgres" / "init-databases.sh"


def management():
    api = urlsplit(RABBIT_API_URI)
    return f"{api.scheme}://{api.hostname}:{api.port}/api", (api.username, api.password)


def connects(uri: str) -> bool:
    try:
        with Connection(uri, connect_timeout=5) as connection:
            connection.connect()
        return True
    except Exception:
        return False


def test_the_broker_accepts_the_password_behind_the_definitions_hash(rabbit_config):
    base, auth = management()
    user, password = f"energiepost_test_{uuid.uuid4().hex[:8]}", "0123abcd" * 6
    (definition,) = [u for u in rabbitmq_definitions({"auth": password}, "x" * 48)["users"]
                     if u["name"] == "energiepost-auth"]
    vhost = urlsplit(rabbit_config["AMQP_URI"]).path.lstrip("/")
    requests.put(f"{base}/users/{user}", auth=auth, timeout=10, json={
        "password_hash": definition["password_hash"], "hashing_algorithm": definition["hashing_algorithm"],
        "tags": ""}).raise_for_status()
    try:
        requests.put(f"{base}/permissions/{quote(vhost, safe='')}/{user}", auth=auth, timeout=10,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        broker = urlsplit(AMQP_URI)
        assert connects(f"amqp://{user}:{password}@{broker.hostname}:{broker.port}/{vhost}")
        assert not connects(f"amqp://{user}:wrong-{password}@{broker.hostname}:{broker.port}/{vhost}")
    finally:
        requests.delete(f"{base}/users/{user}", auth=auth, timeout=10)


@pytest.fixture
def postgres_secrets(tmp_path):
    """make_secrets' database URLs, with names of this test's own."""
    make_secrets(tmp_path)
    suffix = uuid.uuid4().hex[:8]
    urls = {}
    for service in ("auth", "files", "notify"):
        path = tmp_path / f"database_url_{service}"
        url = urlsplit(path.read_text().strip())
        urls[service] = (f"postgresql://ept_{service}_{suffix}:{url.password}@127.0.0.1:5432/"
                         f"ept_{service}_{suffix}")
        path.write_text(urls[service] + "\n")
    yield tmp_path, urls
    admin = psycopg2.connect(POSTGRES_DSN.replace("postgresql+psycopg2", "postgresql") + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        for url in urls.values():
            name = urlsplit(url).username
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'DROP ROLE IF EXISTS "{name}"')
    admin.close()


def test_postgres_init_gives_each_service_its_own_user_and_database(postgres_secrets):
    directory, urls = postgres_secrets
    server = urlsplit(POSTGRES_DSN)
    subprocess.run(["sh", str(INIT_SCRIPT)], check=True, capture_output=True, timeout=60, env={
        **os.environ, "SECRETS_DIR": str(directory), "POSTGRES_USER": server.username,
        "PGHOST": server.hostname, "PGPORT": str(server.port)})
    for service, url in urls.items():
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE owned_here (id int)")  # the service's migrations can run
    auth_user = urlsplit(urls["auth"])
    stranger = urls["files"].replace(f"{urlsplit(urls['files']).username}:{urlsplit(urls['files']).password}",
                                     f"{auth_user.username}:{auth_user.password}")
    with pytest.raises(psycopg2.OperationalError, match="permission denied"):
        psycopg2.connect(stranger)
