"""The delivery log's claims: every due delivery to one sender at a time, oldest first."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.notify import deliveries
from services.notify.models import Delivery

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def session(open_session):
    return open_session("notify")


@pytest.fixture
def other_session(open_session):
    """A second sender (another replica) on the same database."""
    return open_session("notify")


def record(session, minutes_ago=0) -> Delivery:
    delivery_id = deliveries.record(session, kind="file_published", payload={"event_id": str(uuid.uuid4())},
                                    community_id="zonnedelen-gent", now=NOW - timedelta(minutes=minutes_ago))
    return session.get(Delivery, delivery_id)


def test_an_event_is_recorded_once_however_often_it_arrives(session):
    event = {"event_id": str(uuid.uuid4()), "community_id": "zonnedelen-gent"}
    first = deliveries.record(session, kind="file_published", payload=event, community_id="zonnedelen-gent", now=NOW)
    again = deliveries.record(session, kind="file_published", payload=event, community_id="zonnedelen-gent", now=NOW)
    assert isinstance(first, int) and again is None
    (delivery,) = session.scalars(select(Delivery)).all()
    assert (delivery.id, delivery.dedupe_key, delivery.data, delivery.status) == (
        first, f"file_published:{event['event_id']}", event, "pending")
    other_kind = deliveries.record(session, kind="files_expiring", payload=event, community_id="zonnedelen-gent",
                                   now=NOW)
    assert other_kind not in (None, first)


def test_two_senders_never_claim_the_same_delivery(session, other_session):
    recorded = [record(session).id for _ in range(5)]
    first = deliveries.claim_due(session, NOW, 3)
    second = deliveries.claim_due(other_session, NOW, 3)
    assert len(first) == 3 and len(second) == 2
    assert sorted(d.id for d in first + second) == recorded
    assert deliveries.claim_due(session, NOW, 3) == []


def test_the_oldest_due_deliveries_go_first(session):
    newest, oldest, middle = record(session, 1).id, record(session, 3).id, record(session, 2).id
    assert [d.id for d in deliveries.claim_due(session, NOW, 2)] == [oldest, middle]
    assert [d.id for d in deliveries.claim_due(session, NOW, 2)] == [newest]


def test_a_sender_that_died_leaves_its_deliveries_to_others_once_the_lease_runs_out(session, other_session):
    record(session)
    (claimed,) = deliveries.claim_due(session, NOW, 10)  # ... and then the process was killed
    assert deliveries.claim_due(other_session, NOW + deliveries.LEASE - timedelta(seconds=1), 10) == []
    (taken_over,) = deliveries.claim_due(other_session, NOW + deliveries.LEASE + timedelta(seconds=1), 10)
    assert taken_over.id == claimed.id


def test_sent_postponed_and_given_back_deliveries(session):
    sent, later, back = record(session), record(session), record(session)
    deliveries.claim_due(session, NOW, 10)
    deliveries.mark_sent(session, [sent], NOW)
    deliveries.postpone(later, NOW, "SMTP 451", base_seconds=30)
    deliveries.release(back)
    session.commit()
    assert [d.id for d in deliveries.claim_due(session, NOW, 10)] == [back.id]
    assert [d.id for d in deliveries.claim_due(session, NOW + timedelta(seconds=31), 10)] == [later.id]


def prepared(session, minutes_ago, *, secret=True, leased_until=None) -> Delivery:
    """A delivery whose message was rendered (with an initial password when ``secret``)."""
    delivery = record(session, minutes_ago)
    delivery.body_text, delivery.body_html = "Wachtwoord: k7qm-t3xa-9pwd-hv2e", "<p>k7qm-t3xa-9pwd-hv2e</p>"
    delivery.carries_credentials, delivery.lease_until = secret, leased_until
    session.commit()
    return delivery


def test_secrets_older_than_24_hours_are_wiped_even_when_never_sent(session):
    day = 24 * 60
    stale = prepared(session, day + 1)  # pending, retried for a day: never accepted
    fresh = prepared(session, day - 10)
    no_secret = prepared(session, day + 1, secret=False)  # a reminder: nothing secret in it
    being_sent = prepared(session, day + 1, leased_until=NOW + timedelta(minutes=1))
    assert deliveries.wipe_stale_secrets(session, NOW) == 1
    session.commit()
    session.expire_all()
    assert (stale.body_text, stale.body_html, stale.status) == (None, None, "pending")  # prepared afresh when tried
    assert fresh.body_text and no_secret.body_text and being_sent.body_text
    assert deliveries.wipe_stale_secrets(session, NOW + timedelta(minutes=2)) == 1  # the lease ran out
