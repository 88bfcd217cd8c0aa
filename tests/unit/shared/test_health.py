"""The health checks behind each service's ``health`` RPC."""
import shutil

from nameko.testing.services import worker_factory

from services.auth.service import AuthService
from services.files.service import FilesService
from services.gateway.service import GatewayService
from services.notify.service import NotifyService
from shared.blobs import FileBlobStore
from shared.db import make_engine, make_sessionmaker
from shared.health import answer_check, database_check, reason, run_checks, summary


def unreachable_database(tmp_path):
    """A session whose database cannot be opened (its directory does not exist)."""
    return make_sessionmaker(make_engine(f"sqlite:///{tmp_path}/missing/dir/auth.db"))()


def test_every_check_ok_is_ok():
    answer = run_checks("auth", {"broker": lambda: None, "database": lambda: None})
    assert answer == {"service": "auth", "status": "ok", "checks": {"broker": "ok", "database": "ok"}}
    assert summary(answer) == "auth: ok (broker ok, database ok)"


def test_one_failing_check_fails_the_service_and_names_it():
    def down():
        raise ConnectionRefusedError("connection to amqp://energiepost:s3cr3t@rabbitmq:5672/ refused\ntrace")

    answer = run_checks("files", {"broker": lambda: None, "blob_store": down})
    assert answer["status"] == "failing"
    assert answer["checks"]["broker"] == "ok"
    assert answer["checks"]["blob_store"].startswith("ConnectionRefusedError: connection to amqp://energiepost:***@")
    assert "s3cr3t" not in summary(answer) and "trace" not in summary(answer)


def test_reason_is_short_and_one_line():
    assert len(reason(RuntimeError("x" * 1000 + "\nmore"))) < 160
    assert reason(TimeoutError()) == "TimeoutError"


def test_the_database_check_fails_when_the_database_cannot_be_opened(tmp_path, open_session):
    assert run_checks("auth", {"database": database_check(open_session("auth"))})["status"] == "ok"
    answer = run_checks("auth", {"database": database_check(unreachable_database(tmp_path))})
    assert answer["status"] == "failing"
    assert answer["checks"]["database"].startswith("OperationalError")


def test_the_blob_store_check_fails_when_its_directory_is_gone(tmp_path):
    store = FileBlobStore(tmp_path / "blobs")
    store.check()
    shutil.rmtree(tmp_path / "blobs")
    answer = run_checks("files", {"blob_store": store.check})
    assert answer["status"] == "failing" and answer["checks"]["blob_store"].startswith("PermissionError")


def test_another_services_failing_answer_fails_the_round_trip():
    failing = {"service": "files", "status": "failing", "checks": {"broker": "ok", "database": "OperationalError"}}
    answer = run_checks("gateway", {"files": answer_check(lambda: failing)})
    assert answer["checks"]["files"] == "RuntimeError: files reports failing: database"


def test_each_service_reports_its_own_dependencies(tmp_path, open_session):
    blobs = FileBlobStore(tmp_path / "blobs")
    auth = worker_factory(AuthService, db=open_session("auth")).health()
    files = worker_factory(FilesService, db=open_session("files"), blobs=blobs).health()
    notify = worker_factory(NotifyService, db=open_session("notify")).health()
    gateway = worker_factory(GatewayService, blobs=blobs).health()
    assert auth == {"service": "auth", "status": "ok", "checks": {"broker": "ok", "database": "ok"}}
    assert files["checks"] == {"broker": "ok", "database": "ok", "blob_store": "ok"}
    assert notify["checks"] == {"broker": "ok", "database": "ok"}
    assert gateway["checks"] == {"broker": "ok", "blob_store": "ok"}


def test_a_service_whose_database_is_down_says_so(tmp_path):
    answer = worker_factory(NotifyService, db=unreachable_database(tmp_path)).health()
    assert answer["status"] == "failing" and answer["checks"]["database"].startswith("OperationalError")
