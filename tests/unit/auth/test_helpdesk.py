"""The operator's helpdesk RPCs: new credentials, removing a community, the audit trail."""
from datetime import datetime, timedelta, timezone

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.auth.models import AuditEvent, Community, Manager, OutboxMessage, PortalSession
from services.auth.passwords import hash_password, verify_password
from services.auth.service import AuthService
from services.auth.settings import AuthSettings
from shared.errors import InvalidInput, NotFound, Refused
from shared.outbox import Emitter
from tests.support.clock import FixedClock
from tests.support.workers import Worker
from tests.unit.auth.issuing import issue_initial_credentials
from tests.unit.auth.test_login import SETTINGS

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
OWN = "paarse konijnen dansen 42"


@pytest.fixture
def session(open_session):
    return open_session("auth")


@pytest.fixture
def auth(session):
    return Worker(worker_factory(AuthService, db=session, clock=FixedClock(NOW), settings=AuthSettings.load(SETTINGS),
                                 outbox=Emitter(session, OutboxMessage)), session)


def add(auth, community_id="zonnedelen-gent", email="beheer@example.be"):
    return auth.add_community(community_id, "Zonnedelen Gent", email, "0470 12 34 56")


def manager(session, email="beheer@example.be") -> Manager:
    session.expire_all()
    return session.scalar(select(Manager).where(Manager.email == email))


def with_own_password(session, email="beheer@example.be") -> Manager:
    row = manager(session, email)
    row.password_hash, row.password_is_initial, row.password_changed_at = hash_password(OWN), False, NOW
    session.add(PortalSession(id="s1", token_hash="a" * 64, manager_id=row.id, created_at=NOW, last_seen_at=NOW,
                        expires_at=NOW + timedelta(hours=12)))
    session.commit()
    return row


def kinds(session) -> list[str]:
    session.expire_all()
    return [event.kind for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def reissued(session) -> list[dict]:
    session.expire_all()
    return [row.payload for row in session.scalars(select(OutboxMessage).where(
        OutboxMessage.event_type == "credentials_reissued"))]


def test_resent_credentials_void_the_old_initial_password_and_only_the_new_mail_gets_one(auth, session):
    add(auth)
    old = issue_initial_credentials(auth, "zonnedelen-gent", "file_published:first")

    resent = auth.resend_credentials("zonnedelen-gent")

    assert resent["password_reset"] is False and resent["email"] == "beheer@example.be"
    assert manager(session).password_hash is None  # the old password is void at once
    (event,) = reissued(session)
    assert event["community_id"] == "zonnedelen-gent" and event["event_id"] == resent["event_id"]
    assert issue_initial_credentials(auth, "zonnedelen-gent", "file_published:another") is None
    new = issue_initial_credentials(auth, "zonnedelen-gent", f"credentials_reissued:{resent['event_id']}")
    assert new["login"] == old["login"] and new["password"] != old["password"]
    assert verify_password(manager(session).password_hash, new["password"])
    assert "credentials_resent" in kinds(session)


def test_resending_is_refused_while_the_manager_has_an_own_password(auth, session):
    add(auth)
    before = with_own_password(session).password_hash

    with pytest.raises(Refused, match="--reset"):
        auth.resend_credentials("zonnedelen-gent")

    assert manager(session).password_hash == before and reissued(session) == []


def test_reset_voids_the_own_password_and_ends_the_sessions(auth, session):
    add(auth)
    with_own_password(session)

    assert auth.resend_credentials("zonnedelen-gent", reset=True)["password_reset"] is True

    assert manager(session).password_hash is None
    assert session.get(PortalSession, "s1").ended_at == NOW
    assert len(reissued(session)) == 1
    assert kinds(session)[-2:] == ["password_voided_by_operator", "credentials_resent"]


def test_an_unknown_community_is_not_found(auth):
    with pytest.raises(NotFound):
        auth.resend_credentials("nergens")
    with pytest.raises(NotFound):
        auth.remove_community("nergens")


def test_removing_the_only_community_removes_the_account(auth, session):
    add(auth)
    with_own_password(session)

    assert auth.remove_community("zonnedelen-gent") == {"community_id": "zonnedelen-gent", "account_removed": True}

    session.expire_all()
    assert session.get(Community, "zonnedelen-gent") is None and manager(session) is None
    assert session.scalars(select(PortalSession)).all() == []
    events = {row.event_type: row.payload for row in session.scalars(select(OutboxMessage))}
    assert events["community_removed"]["community_id"] == "zonnedelen-gent"
    trail = auth.list_audit_events(community_id="zonnedelen-gent")
    assert [(e["kind"], e["community_id"]) for e in trail["events"]] == [
        ("community_removed", "zonnedelen-gent"), ("account_removed", "zonnedelen-gent")]
    assert trail["events"][1]["detail"] == "beheer@example.be"  # who, once the account is gone


def test_a_manager_of_another_community_keeps_the_account(auth, session):
    add(auth)
    add(auth, "zonnedelen-brugge")

    assert auth.remove_community("zonnedelen-gent")["account_removed"] is False

    assert [c.id for c in manager(session).communities] == ["zonnedelen-brugge"]


def test_the_audit_trail_filters_by_community_and_moment_and_says_when_it_is_cut(auth, session):
    add(auth)
    add(auth, "ander", email="ander@example.be")
    ours, theirs = manager(session).id, manager(session, "ander@example.be").id
    for minutes, kind, who in [(1, "login_failed", ours), (2, "login_ok", theirs), (3, "login_ok", ours)]:
        session.add(AuditEvent(at=NOW + timedelta(minutes=minutes), kind=kind, manager_id=who, client_ip="192.0.2.7"))
    session.commit()

    everything = auth.list_audit_events()
    ours_only = auth.list_audit_events(community_id="zonnedelen-gent")
    recent = auth.list_audit_events(since=(NOW + timedelta(minutes=2)).isoformat(), limit=1)

    assert [e["kind"] for e in everything["events"]] == ["login_failed", "login_ok", "login_ok"]
    assert [(e["kind"], e["login"]) for e in ours_only["events"]] == [
        ("login_failed", "beheer@example.be"), ("login_ok", "beheer@example.be")]
    assert ours_only["events"][0] == {"at": (NOW + timedelta(minutes=1)).isoformat(), "source": "auth",
                                      "kind": "login_failed", "login": "beheer@example.be", "community_id": None,
                                      "client_ip": "192.0.2.7", "detail": None}
    assert [e["at"] for e in recent["events"]] == [(NOW + timedelta(minutes=3)).isoformat()]
    assert recent["truncated"] is True and everything["truncated"] is False


@pytest.mark.parametrize("arguments", [{"since": "gisteren"}, {"since": "2026-11-01T08:00"}, {"limit": 0},
                                       {"limit": 10_001}, {"community_id": 5}])
def test_bad_audit_arguments_are_refused(auth, arguments):
    with pytest.raises(InvalidInput):
        auth.list_audit_events(**arguments)


def test_the_audit_of_an_unknown_community_is_not_found(auth):
    with pytest.raises(NotFound):
        auth.list_audit_events(community_id="nergens")
