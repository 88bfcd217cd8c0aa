"""Month-end on the real broker, database and SMTP sink, with notify as its own process
(`nameko run`): many waiting file_published events, one e-mail each — also when notify
is killed mid-drain, and when two notify processes share the work."""
import os
import time
from email import message_from_bytes, policy

import pytest
from nameko.standalone.events import event_dispatcher, get_event_exchange
from sqlalchemy import update

from ops.declare_queues import declare
from services.auth.models import Manager
from services.auth.passwords import verify_password
from services.auth.service import AuthService
from services.notify.models import Delivery
from services.notify.settings import NotifySettings
from tests.support.communities import address, file_published, gets_credentials, seed_communities
from tests.support.launch import ServiceProcess
from tests.support.sinks import credentials_in, wait_until

EVENTS = 400
RPC_QUEUE = "rpc-notify"


@pytest.fixture
def waiting_events(runner_factory, service_config, database_urls):
    """EVENTS communities, auth running, and a file_published event for each waiting in
    notify's queue (declared up front, as `make run` does)."""
    declare(service_config["AMQP_URI"])
    seed_communities(database_urls["auth"], EVENTS)
    runner_factory(service_config, AuthService).start()
    dispatch = event_dispatcher(service_config, declare=[get_event_exchange("files", service_config)])
    for n in range(EVENTS):
        dispatch("files", "file_published", file_published(n))
    return EVENTS


@pytest.fixture
def start_notify(service_config, tmp_path):
    env = {**os.environ, **{name: str(value) for name, value in service_config.items()}}
    started = []

    def start() -> ServiceProcess:
        process = ServiceProcess("notify", env, tmp_path / f"notify-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def received(mail_sink) -> int:
    return len(list(mail_sink.target.glob("*.eml")))


def mails_by_recipient(mail_sink) -> dict[str, list]:
    found = {}
    for path in sorted(mail_sink.target.glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        found.setdefault(mail["To"], []).append(mail)
    return found


def assert_each_community_got_its_mail(mail_sink, open_session, duplicates_allowed: int):
    wait_until(lambda: received(mail_sink) >= EVENTS, timeout=120, interval=0.1, message=f"{EVENTS} e-mails")
    notify_db = open_session("notify")
    wait_until(lambda: notify_db.rollback() or not notify_db.query(Delivery).filter_by(status="pending").count(),
               timeout=60, interval=0.2, message="every delivery to be sent")
    time.sleep(1)  # anything sent twice arrives by now
    mails = mails_by_recipient(mail_sink)
    assert sorted(mails) == sorted(address(n) for n in range(EVENTS))
    assert sum(len(m) for m in mails.values()) - EVENTS <= duplicates_allowed
    hashes = {manager.email: manager.password_hash for manager in open_session("auth").query(Manager)}
    mailed = {}
    for n in range(EVENTS):
        passwords = {credentials_in(mail).get("password") for mail in mails[address(n)]}
        if gets_credentials(n):
            (mailed[address(n)],) = passwords  # a resent e-mail carries the same password
        else:
            assert passwords == {None}
    resent = [login for login in mailed if len(mails[login]) > 1]
    for login in resent + list(mailed)[:3]:  # each check takes an argon2id's time: a sample
        assert verify_password(hashes[login], mailed[login]), login
    deliveries = open_session("notify").query(Delivery).all()
    assert len(deliveries) == EVENTS
    assert {(d.status, d.body_text, d.body_html) for d in deliveries} == {("sent", None, None)}


def test_a_notify_killed_mid_drain_loses_nothing(waiting_events, start_notify, mail_sink, open_session,
                                                 service_config):
    first = start_notify()
    wait_until(lambda: received(mail_sink) >= 40, timeout=60, interval=0.01, message="the drain to start")
    first.kill()  # SIGKILL: no chance to finish a batch, ack an event or commit
    assert received(mail_sink) < EVENTS, "the drain was over before the kill; raise EVENTS"

    # The dead process's leases would run out after two minutes; let them run out now.
    notify_db = open_session("notify")
    notify_db.execute(update(Delivery).where(Delivery.lease_until.is_not(None)).values(lease_until=None))
    notify_db.commit()
    second = start_notify()
    second.wait_consuming(RPC_QUEUE)
    # Only messages the mail server took but the killed process had not yet recorded as
    # sent go out twice: at most one per SMTP connection.
    assert_each_community_got_its_mail(mail_sink, open_session,
                                       duplicates_allowed=NotifySettings.load(service_config).smtp_connections)


def test_two_notify_processes_send_each_mail_once(waiting_events, start_notify, mail_sink, open_session):
    both = [start_notify(), start_notify()]
    both[0].wait_consuming(RPC_QUEUE, consumers=2)
    assert_each_community_got_its_mail(mail_sink, open_session, duplicates_allowed=0)
