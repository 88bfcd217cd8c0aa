"""Retention on the real broker, with two replicas of every service."""
from datetime import date, datetime, timedelta, timezone

import eventlet
from nameko.testing.services import entrypoint_hook

from shared.blobs import BlobStoreSettings
from services.auth.service import AuthService
from services.files import retention
from services.files.models import File, OutboxMessage, RetentionRun
from services.files.service import FilesService
from services.notify.service import NotifyService
from shared.blobs import open_blob_store
from shared.formatting import LOCAL_ZONE
from tests.support.sinks import plain_text, wait_until
from tests.support.system import add_community, rpc


def start_replicas(container_factory, config, *services, count=2):
    containers = {service: [container_factory(service, config) for _ in range(count)] for service in services}
    for replicas in containers.values():
        for container in replicas:
            container.start()
    return containers


def publish(config, name="correcties.csv"):
    blob = open_blob_store(BlobStoreSettings.load(config)).put([b"ean;afname\n541448;12,5\n"])
    return rpc(config, "files", "publish_file", community_id="zonnedelen-gent", blob_key=blob.key, name=name,
               size=blob.size, sha256=blob.sha256)


def in_days(days: int) -> str:
    return (datetime.now(LOCAL_ZONE).date() + timedelta(days=days)).isoformat()


def test_two_replicas_fire_and_handle_at_once_one_reminder_one_deletion(
        container_factory, service_config, mail_sink, open_session):
    replicas = start_replicas(container_factory, service_config, AuthService, FilesService, NotifyService)
    add_community(service_config)
    file = publish(service_config)
    mail_sink.wait_for(1)  # the publication e-mail

    def fire_on_every_replica(run_date):
        def fire(container):
            with entrypoint_hook(container, "fire_retention") as fire_retention:
                return fire_retention(run_date)
        threads = [eventlet.spawn(fire, container) for container in replicas[FilesService]]
        return [thread.wait() for thread in threads]

    fire_on_every_replica(in_days(24))
    mails = mail_sink.wait_for(2)
    eventlet.sleep(2)  # both events handled, by either replica
    assert len(mail_sink.messages()) == 2
    assert "binnenkort verwijderd" in mails[1]["Subject"]
    assert "correcties.csv" in plain_text(mails[1])

    fire_on_every_replica(in_days(31))
    files = open_session("files")

    def deleted():
        files.rollback()
        row = files.get(File, file["id"])
        return row.deleted_at is not None and row.blob_key is None and row

    row = wait_until(deleted, timeout=15, message="the file to be deleted")
    assert row.deleted_reason == "retention"
    eventlet.sleep(1)
    assert len(mail_sink.messages()) == 2  # no second reminder
    listed = rpc(service_config, "files", "list_files", community_id="zonnedelen-gent")
    assert [f["deleted_reason"] for f in listed] == ["retention"]


def test_the_schedule_fires_a_date_once_whichever_replica_ticks(container_factory, service_config, open_session):
    replicas = start_replicas(container_factory, service_config, FilesService)

    def tick(container):
        with entrypoint_hook(container, "schedule_retention") as schedule:
            schedule()

    threads = [eventlet.spawn(tick, container) for container in replicas[FilesService] * 2]
    for thread in threads:
        thread.wait()
    runs = open_session("files").query(RetentionRun).filter_by(trigger="schedule").all()
    assert len(runs) == 1
    assert runs[0].run_date in (date.today(), date.today() - timedelta(days=1))


def test_a_run_that_finds_another_under_way_is_fired_again_and_done_once_the_lease_is_free(
        container_factory, service_config, open_session):
    """No handler waits for the lease and no date is skipped: the busy run's date is fired
    again through the outbox (RETENTION_REFIRE_SECONDS later) until the lease is free."""
    config = {**service_config, "RETENTION_REFIRE_SECONDS": 0.5}
    start_replicas(container_factory, config, AuthService, FilesService, count=1)
    add_community(config)
    file = publish(config)
    files = open_session("files")
    assert retention.acquire_lease(files, "another run", datetime.now(timezone.utc))

    rpc(config, "files", "fire_retention", run_date=in_days(31))

    def refired(times):
        def check():
            files.rollback()
            return files.query(OutboxMessage).filter_by(event_type="retention_due").count() >= times
        return check

    wait_until(refired(3), timeout=15, message="the busy run's date to be fired again, more than once")
    files.rollback()
    assert files.get(File, file["id"]).deleted_at is None  # nothing ran under the other run's lease

    retention.release_lease(files, "another run")

    def deleted():
        files.rollback()
        row = files.get(File, file["id"])
        return row.deleted_at is not None and row.blob_key is None and row

    assert wait_until(deleted, timeout=15, message="the file to be deleted").deleted_reason == "retention"
    (run,) = files.query(RetentionRun).all()
    assert run.run_date.isoformat() == in_days(31) and run.completed_at is not None and run.deleted == 1


def test_the_daily_run_purges_auth_security_records_older_than_the_retention(
        runner_factory, service_config, open_session):
    """files fires ``retention_due``; auth handles it too: its audit trail, failures and sessions
    older than SECURITY_RETENTION_DAYS go, newer ones stay."""
    from services.auth.models import AuditEvent, LoginFailure

    config = {**service_config, "SECURITY_RETENTION_DAYS": 30}
    runner_factory(config, AuthService, FilesService).start()
    now = datetime.now(LOCAL_ZONE)
    session = open_session("auth")
    session.add_all([AuditEvent(at=now - timedelta(days=31), kind="login_failed", detail="old"),
                     AuditEvent(at=now - timedelta(days=29), kind="login_failed", detail="recent"),
                     LoginFailure(scope="address", key="198.51.100.7", at=now - timedelta(days=31))])
    session.commit()

    rpc(config, "files", "fire_retention")

    def purged():
        session.rollback()
        return [row.detail for row in session.query(AuditEvent)] == ["recent"] and not session.query(LoginFailure).all()
    wait_until(purged, timeout=15, message="auth to purge its old security records")
