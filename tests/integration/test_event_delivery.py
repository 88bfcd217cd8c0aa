"""Events on the real broker: no loss before consumers exist, no double sends."""
import time

from nameko.standalone.events import event_dispatcher, get_event_exchange

from ops.declare_queues import declare
from services.auth.service import AuthService
from services.files.models import OutboxMessage
from services.files.service import FilesService
from services.gateway.service import GatewayService
from services.notify.service import NotifyService
from shared.contract import FILE_PUBLISHED
from tests.support.sinks import wait_until
from tests.support.system import add_community, ingest


def test_a_redelivered_file_published_sends_one_mail(runner_factory, service_config, mail_sink):
    runner_factory(service_config, AuthService, NotifyService).start()
    add_community(service_config)
    payload = FILE_PUBLISHED.build(
        file_id="6f1c2a4e-8a53-4a4b-9d7e-0c1f7c2b9a10", community_id="zonnedelen-gent", name="a.csv", size=5,
        sha256="b" * 64, kind="periodic", shared_by="Fluvius",
        published_at="2026-11-26T09:30:00+00:00", expires_at="2026-12-26T09:30:00+00:00",
    )
    dispatch = event_dispatcher(service_config, declare=[get_event_exchange("files", service_config)])
    dispatch("files", "file_published", payload)
    dispatch("files", "file_published", payload)  # the broker redelivers, or the relay published twice
    mail_sink.wait_for(1)
    time.sleep(1)
    assert len(mail_sink.messages()) == 1


def test_notify_started_after_the_publish_still_sends_it(runner_factory, service_config, mail_sink, open_session):
    declare(service_config["AMQP_URI"])  # as `make run` and the compose migrate step do
    runner_factory(service_config, AuthService, FilesService, GatewayService).start()
    add_community(service_config)
    assert ingest(service_config).status_code == 201
    outbox = open_session("files")
    wait_until(lambda: _outbox_row(outbox, lambda row: row.sent_at is not None), message="the event to be published")
    time.sleep(0.5)
    assert mail_sink.messages() == []

    runner_factory(service_config, NotifyService).start()
    (mail,) = mail_sink.wait_for(1)
    assert mail["To"] == "beheer@example.be"


def test_without_any_queue_the_event_waits_in_the_outbox(runner_factory, service_config, mail_sink, open_session):
    """Nobody declared the queue and notify never ran, so the broker would drop the
    event: published with `mandatory`, it stays in the outbox until a queue exists."""
    runner_factory(service_config, AuthService, FilesService, GatewayService).start()
    add_community(service_config)
    assert ingest(service_config).status_code == 201
    outbox = open_session("files")
    refused = wait_until(lambda: _outbox_row(outbox, lambda row: row.attempts >= 1), message="a refused publish")
    assert refused.sent_at is None and "no queue" in refused.last_error

    declare(service_config["AMQP_URI"])
    wait_until(lambda: _outbox_row(outbox, lambda row: row.sent_at is not None), timeout=15,
               message="the relay to publish once a queue exists")
    runner_factory(service_config, NotifyService).start()
    assert mail_sink.wait_for(1)[0]["To"] == "beheer@example.be"


def _outbox_row(session, condition):
    session.rollback()  # see what other connections committed
    row = session.query(OutboxMessage).one_or_none()
    return row if row is not None and condition(row) else None
