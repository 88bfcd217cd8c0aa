"""Root fixtures for the unit, integration and end-to-end suites.

eventlet must patch the standard library before anything else is imported:
nameko's test containers hang without it.
"""
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from tests.support import blobstores, databases, sinks  # noqa: E402

from tests.support.system import AUTH_SECRET_KEY, CSRF_SECRET, INGEST_KEY, TOTP_KEY  # noqa: E402


def pytest_configure(config):
    # nameko's pytest plugin: the broker and its management API (vhost per test).
    config.option.RABBIT_AMQP_URI = os.environ.get("TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    config.option.RABBIT_API_URI = os.environ.get("TEST_RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")


@pytest.fixture
def database_urls(tmp_path):
    """Fresh, migrated databases for auth, files and notify (SQLite, or PostgreSQL
    when TEST_DATABASE=postgresql)."""
    with databases.fresh_databases(tmp_path) as urls:
        yield urls


@pytest.fixture
def mail_sink(tmp_path):
    """The dev mail sink on a free port; ``mail_sink.start(fail_first=1)`` for a flaky one."""
    sink = sinks.MailSink(tmp_path / "mail")
    yield sink
    sink.stop()


@pytest.fixture
def sms_sink(tmp_path):
    sink = sinks.SmsSink(tmp_path / "sms.jsonl")
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3 API server on a free loopback port, for the session (a bucket per test)."""
    server = blobstores.S3Server(tmp_path_factory.mktemp("s3-server"))
    yield server
    server.stop()


@pytest.fixture
def blob_store_config(request, tmp_path):
    """``BLOB_STORE`` and its settings: a directory of the test's own, or — parametrised
    indirectly with ``"s3"`` — a fresh bucket on the session's S3 server."""
    return blobstores.blob_store_config(getattr(request, "param", "file"), request, tmp_path)


@pytest.fixture
def service_config(rabbit_config, database_urls, tmp_path, mail_sink, blob_store_config):
    """nameko config for the services under test: own vhost, own databases, own blobs."""
    port = sinks.free_port()
    return {
        **rabbit_config,
        "serializer": "json",
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "ENERGIEPOST_ENV": "production",
        "DATA_DIR": str(tmp_path),
        **blob_store_config,
        **{f"DATABASE_URL_{service.upper()}": url for service, url in database_urls.items()},
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": mail_sink.port,
        "SMTP_SECURITY": "none",  # the dev mail sink on loopback
        "SMTP_ALLOW_PLAINTEXT": "true",
        "INGEST_API_KEYS": INGEST_KEY,
        "CSRF_SECRET": CSRF_SECRET,
        "TOTP_ENCRYPTION_KEY": TOTP_KEY,
        "AUTH_SECRET_KEY": AUTH_SECRET_KEY,
        "RPC_TIMEOUT_SECONDS": 5,
        "DELIVERY_RETRY_SECONDS": 0.2,
    }


@pytest.fixture
def event_id():
    return str(uuid.uuid4())


@pytest.fixture
def open_session(database_urls):
    """``open_session("auth")``: a session on that service's fresh database."""
    from shared.db import make_engine, make_sessionmaker

    opened = []

    def open_(service):
        engine = make_engine(database_urls[service])
        session = make_sessionmaker(engine)()
        opened.append((session, engine))
        return session

    yield open_
    for session, engine in opened:
        session.close()
        engine.dispose()
