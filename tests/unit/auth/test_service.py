from datetime import datetime, timezone

import pytest
from nameko.testing.services import worker_factory

from services.auth import credentials
from services.auth.models import Manager, OutboxMessage
from services.auth.passwords import hash_password, verify_password
from services.auth.service import AuthService
from shared.errors import AlreadyExists, InvalidInput, NotFound
from shared.outbox import Emitter
from tests.support.clock import FixedClock
from tests.unit.auth.issuing import issue_initial_credentials

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def session(open_session):
    return open_session("auth")


@pytest.fixture
def auth(session):
    return worker_factory(AuthService, db=session, clock=FixedClock(NOW), outbox=Emitter(session, OutboxMessage))


def add(auth, community_id="zonnedelen-gent", email="beheer@example.be", gsm="0470 12 34 56", name="Zonnedelen Gent"):
    return auth.add_community(community_id, name, email, gsm)


def test_add_community_stores_normalised_contacts(auth):
    community = add(auth, email="Beheer@Example.be")
    assert community == {
        "id": "zonnedelen-gent", "name": "Zonnedelen Gent", "email": "beheer@example.be",
        "gsm": "+32470123456", "created_at": NOW.isoformat(), "updated_at": NOW.isoformat(),
    }
    assert auth.list_communities() == [community]


def test_duplicate_community_is_refused_and_nothing_changes(auth):
    add(auth)
    with pytest.raises(AlreadyExists):
        add(auth, email="other@example.be")
    assert [c["email"] for c in auth.list_communities()] == ["beheer@example.be"]


@pytest.mark.parametrize("field, value", [("email", "not-an-address"), ("email", ""), ("gsm", "09 234 56 78")])
def test_bad_contacts_store_nothing(auth, session, field, value):
    with pytest.raises(InvalidInput):
        add(auth, **{field: value})
    assert auth.list_communities() == []
    assert session.query(Manager).count() == 0


def test_one_manager_for_several_communities(auth, session):
    add(auth)
    add(auth, community_id="wind-aalst", name="Wind Aalst")
    assert session.query(Manager).count() == 1
    with pytest.raises(InvalidInput, match="different GSM"):
        add(auth, community_id="zon-gent-2", gsm="0470 99 99 99")


def test_update_renames_the_account_of_a_single_community_manager_who_keeps_an_own_password(auth, session):
    add(auth)
    manager = session.query(Manager).one()
    manager_id, own_hash = manager.id, hash_password("paarden eten graag wortels")
    manager.password_hash, manager.password_is_initial = own_hash, False
    session.commit()
    updated = auth.update_community("zonnedelen-gent", email="nieuw@example.be", gsm="+32 471 00 00 00")
    assert (updated["email"], updated["gsm"]) == ("nieuw@example.be", "+32471000000")
    manager = session.query(Manager).one()
    assert (manager.id, manager.password_hash) == (manager_id, own_hash)  # same account, same password


@pytest.mark.parametrize("change", [{"email": "nieuw@example.be"}, {"gsm": "0471 99 88 77"}])
def test_a_contact_change_voids_the_initial_password_and_the_next_mail_carries_a_new_one(auth, session, change):
    add(auth)
    old = issue_initial_credentials(auth, "zonnedelen-gent", "file_published:1")
    auth.update_community("zonnedelen-gent", **change)
    manager = session.query(Manager).one()
    assert manager.password_hash is None and not verify_password(manager.password_hash, old["password"])
    new = issue_initial_credentials(auth, "zonnedelen-gent", "file_published:2")
    assert new["login"] == change.get("email", "beheer@example.be") and new["password"] != old["password"]
    session.expire_all()
    assert verify_password(session.query(Manager).one().password_hash, new["password"])


def test_a_new_name_alone_keeps_the_initial_password(auth, session):
    add(auth)
    issued = issue_initial_credentials(auth, "zonnedelen-gent", "file_published:1")
    auth.update_community("zonnedelen-gent", name="Zonnedelen Groot-Gent")
    assert verify_password(session.query(Manager).one().password_hash, issued["password"])


def test_update_moves_a_shared_managers_community_to_a_new_account(auth, session):
    add(auth)
    add(auth, community_id="wind-aalst", name="Wind Aalst")
    auth.update_community("wind-aalst", email="wind@example.be")
    emails = {c["id"]: c["email"] for c in auth.list_communities()}
    assert emails == {"zonnedelen-gent": "beheer@example.be", "wind-aalst": "wind@example.be"}
    assert session.query(Manager).count() == 2


def test_update_needs_something_to_change_and_a_known_community(auth):
    add(auth)
    with pytest.raises(InvalidInput, match="nothing to update"):
        auth.update_community("zonnedelen-gent")
    with pytest.raises(NotFound):
        auth.update_community("unknown", email="x@example.be")
    with pytest.raises(InvalidInput):
        auth.update_community("zonnedelen-gent", gsm="not a number")


def test_get_community_reveals_no_personal_data(auth):
    add(auth)
    assert auth.get_community("zonnedelen-gent") == {"id": "zonnedelen-gent", "name": "Zonnedelen Gent",
                                                     "manager_id": auth.db.query(Manager).one().id}
    with pytest.raises(NotFound):
        auth.get_community("unknown")


def test_initial_password_is_issued_once_and_stored_only_as_a_salted_hash(auth, session):
    add(auth)
    first = issue_initial_credentials(auth, "zonnedelen-gent", "file_published:1")
    assert first["login"] == "beheer@example.be"
    assert len(first["password"]) == 19
    manager = session.query(Manager).one()
    assert manager.password_hash.startswith("$generated-hmac-sha256$")  # generated: no argon2id needed
    assert first["password"] not in manager.password_hash
    assert verify_password(manager.password_hash, first["password"])
    assert issue_initial_credentials(auth, "zonnedelen-gent", "file_published:2") is None


def test_the_same_delivery_asking_again_gets_a_fresh_password_the_old_one_stops(auth, session):
    add(auth)
    lost = issue_initial_credentials(auth, "zonnedelen-gent", "file_published:1")
    again = issue_initial_credentials(auth, "zonnedelen-gent", "file_published:1")
    assert again["password"] != lost["password"]
    manager = session.query(Manager).one()
    assert verify_password(manager.password_hash, again["password"])
    assert not verify_password(manager.password_hash, lost["password"])


def test_a_manager_with_an_own_password_gets_no_initial_one(auth, session):
    add(auth)
    manager = session.query(Manager).one()
    manager.password_hash, manager.password_is_initial = "$argon2id$own", False
    session.commit()
    assert issue_initial_credentials(auth, "zonnedelen-gent", "file_published:1") is None


def mail(community_id, ref, credentials=True):
    return {"community_id": community_id, "ref": ref, "credentials": credentials}


def test_one_call_answers_a_batch_of_mails_in_order(auth, session):
    add(auth)
    add(auth, community_id="wind-aalst", name="Wind Aalst")  # the same manager
    add(auth, community_id="zon-gent", name="Zon Gent", email="zon@example.be", gsm="0470 99 99 99")
    answers = auth.prepare_mail_recipients([
        mail("zonnedelen-gent", "file_published:1"), mail("unknown", "file_published:2"),
        mail("wind-aalst", "file_published:3"), mail("zon-gent", "files_expiring:4", credentials=False),
    ])
    first, unknown, same_manager, reminder = answers
    assert unknown is None
    assert first["recipient"] == {
        "community_id": "zonnedelen-gent", "community_name": "Zonnedelen Gent",
        "manager_id": first["recipient"]["manager_id"], "email": "beheer@example.be", "login": "beheer@example.be",
        "has_own_password": False,
    }
    assert first["credentials"]["login"] == "beheer@example.be"
    assert same_manager["recipient"]["community_name"] == "Wind Aalst"
    assert same_manager["credentials"] is None  # one initial password per manager, whatever the batch
    assert reminder == {"recipient": {**reminder["recipient"], "email": "zon@example.be"}, "credentials": None}
    assert session.query(Manager).filter_by(email="zon@example.be").one().password_hash is None


def test_asking_for_a_manager_with_an_own_password_generates_and_writes_nothing(auth, session, monkeypatch):
    add(auth)
    manager = session.query(Manager).one()
    manager.password_hash, manager.password_is_initial = "$argon2id$own", False
    session.commit()
    monkeypatch.setattr(credentials, "generate_initial_password", _not_to_be_called)
    (answer,) = auth.prepare_mail_recipients([mail("zonnedelen-gent", "file_published:1")])
    assert answer["credentials"] is None
    session.expire_all()
    manager = session.query(Manager).one()
    assert (manager.password_hash, manager.updated_at, manager.initial_issue_ref) == ("$argon2id$own", NOW, None)


def _not_to_be_called():
    raise AssertionError("no password is generated for a manager who cannot get one")


@pytest.mark.parametrize("mails", [
    "zonnedelen-gent", [mail("zonnedelen-gent", "r")] * 501, [{"community_id": "zonnedelen-gent"}],
    [mail("zonnedelen-gent", "r" * 65)], [mail("zonnedelen-gent", "r", credentials="yes")], [mail(7, "r")],
])
def test_malformed_batches_are_refused(auth, mails):
    add(auth)
    with pytest.raises(InvalidInput):
        auth.prepare_mail_recipients(mails)


def test_the_recipient_says_whether_the_manager_has_an_own_password(auth, session):
    add(auth)
    assert recipient(auth)["has_own_password"] is False  # nothing yet
    issue_initial_credentials(auth, "zonnedelen-gent", "file_published:1")
    assert recipient(auth)["has_own_password"] is False  # only the e-mailed one
    manager = session.query(Manager).one()
    manager.password_hash, manager.password_is_initial = "$argon2id$own", False
    session.commit()
    assert recipient(auth)["has_own_password"] is True
    assert recipient(auth)["email"] == recipient(auth)["login"] == "beheer@example.be"


def recipient(auth, community_id="zonnedelen-gent"):
    (answer,) = auth.prepare_mail_recipients([mail(community_id, "files_expiring:1", credentials=False)])
    return answer["recipient"]
