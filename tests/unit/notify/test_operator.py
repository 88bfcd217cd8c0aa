"""The operator's view of deliveries (list, retry) and the new first e-mail after
``community resend-credentials``."""
import json
import uuid
from datetime import timedelta

import pytest

from services.notify.models import Delivery
from shared.contract import CREDENTIALS_REISSUED, SMS_CODE_REQUESTED
from shared.errors import InvalidInput, NotFound, Refused
from tests.support.sinks import credentials_in, links_in, plain_text
from tests.unit.notify.test_service import (  # noqa: F401  (fixtures)
    BASE_URL, NOW, auth, clock, event, mailer, notify, session, turn,
)

PASSWORD = "abcd-efgh-jkmn-pqrs"


MANAGER = "5f0c0c4e-1111-4a4a-8b8b-000000000001"


def reissued(community_id="zonnedelen-gent"):
    return CREDENTIALS_REISSUED.build(community_id=community_id, manager_id=MANAGER)


def test_a_resent_first_mail_carries_new_credentials_and_the_login_link(notify, mailer, auth):
    payload = reissued()
    notify.on_credentials_reissued(payload)

    (message,) = mailer.sent
    assert credentials_in(message) == {"login": "beheer@example.be", "password": PASSWORD}
    assert links_in(message, BASE_URL) == [f"{BASE_URL}/login"]
    assert "Uw vorige wachtwoord werkt niet meer" in plain_text(message)
    (asked,) = auth.calls[0]
    assert asked == {"community_id": "zonnedelen-gent", "ref": f"credentials_reissued:{payload['event_id']}",
                     "credentials": True}  # the ref auth reserved the new password for


def test_a_resent_mail_with_no_credentials_due_any_more_is_not_sent(notify, mailer, auth):
    auth.issued = iter(())  # the manager chose a password meanwhile: auth gives none
    notify.on_credentials_reissued(reissued())
    assert mailer.sent == []
    (listed,) = notify.list_deliveries()["deliveries"]
    assert listed["status"] == "undeliverable" and "no new initial password" in listed["last_error"]


def test_the_list_shows_status_attempts_and_error_but_never_the_message(notify, mailer, clock):
    notify.on_file_published(event())  # sent, with the initial password
    mailer.refuse = 1
    failing = event(community_id="ander")
    notify.on_file_published(failing)

    listed = notify.list_deliveries()

    assert [(d["status"], d["attempts"], d["community_id"]) for d in listed["deliveries"]] == [
        ("sent", 0, "zonnedelen-gent"), ("failing", 1, "ander")]
    sent, failed = listed["deliveries"]
    assert sent["sent_at"] == NOW.isoformat() and sent["carries_credentials"] is True
    assert failed["last_error"] == "SMTP 451" and failed["file_id"] == failing["file_id"]
    assert failed["recipient"] == "beheer@example.be" and failed["next_attempt_at"] is not None
    assert PASSWORD not in json.dumps(listed)
    assert set(sent) == {"id", "kind", "community_id", "file_id", "recipient", "status", "attempts", "last_error",
                         "carries_credentials", "created_at", "next_attempt_at", "sent_at"}


def test_the_list_filters(notify, mailer, clock):
    notify.on_credentials_reissued(reissued())
    clock.now = lambda: NOW + timedelta(days=1)
    notify.on_file_published(event())
    mailer.refuse = 1
    notify.on_file_published(event(community_id="ander"))

    notify.auth.get_community.side_effect = NotFound("unknown community 'ander'")  # removed since

    def ids(**filters):
        return [d["community_id"] for d in notify.list_deliveries(**filters)["deliveries"]]

    assert ids(failed=True) == ["ander"]
    assert ids(community_id="ander") == ["ander"]
    assert ids(kind="credentials_reissued") == ["zonnedelen-gent"]
    assert ids(since=(NOW + timedelta(hours=1)).isoformat()) == ["zonnedelen-gent", "ander"]
    assert len(ids(limit=2)) == 2 and notify.list_deliveries(limit=2)["truncated"] is True


@pytest.mark.parametrize("filters", [{"kind": "fax"}, {"since": "morgen"}, {"limit": 0}, {"community_id": ""}])
def test_bad_filters_are_refused(notify, filters):
    with pytest.raises(InvalidInput):
        notify.list_deliveries(**filters)


def test_retry_makes_an_undeliverable_mail_due_and_it_goes(notify, mailer, auth, session):
    auth.unknown.add("ander")
    notify.on_file_published(event(community_id="ander"))
    (given_up,) = notify.list_deliveries()["deliveries"]
    assert given_up["status"] == "undeliverable"
    auth.unknown.clear()

    retried = notify.retry_delivery(given_up["id"])
    assert retried["status"] == "pending" and retried["next_attempt_at"] == NOW.isoformat()
    notify.retry_due_deliveries()

    assert len(mailer.sent) == 1
    assert session.get(Delivery, given_up["id"]).status == "sent"


def test_retry_refuses_a_sent_delivery_and_an_unknown_one(notify):
    notify.on_file_published(event())
    (sent,) = notify.list_deliveries()["deliveries"]
    with pytest.raises(Refused, match="sent already"):
        notify.retry_delivery(sent["id"])
    with pytest.raises(NotFound):
        notify.retry_delivery(sent["id"] + 1)
    with pytest.raises(InvalidInput):
        notify.retry_delivery("1")


def test_retry_leaves_a_delivery_being_sent_to_its_sender(notify, session, mailer):
    mailer.refuse = 1
    notify.on_file_published(event())
    (failing,) = notify.list_deliveries()["deliveries"]
    row = session.get(Delivery, failing["id"])
    row.lease_until = NOW + timedelta(minutes=1)  # a sender has it right now
    session.commit()

    notify.retry_delivery(failing["id"])
    notify.retry_due_deliveries()

    assert mailer.sent == []  # not sent a second time beside that sender


def test_a_communitys_list_includes_its_managers_sms_codes(notify):
    notify.auth.issue_sms_code.return_value = None  # the login ended: recorded, not sent
    notify.on_sms_code_requested(SMS_CODE_REQUESTED.build(attempt_id=str(uuid.uuid4()), manager_id=MANAGER))
    notify.on_sms_code_requested(SMS_CODE_REQUESTED.build(attempt_id=str(uuid.uuid4()), manager_id=str(uuid.uuid4())))
    notify.auth.get_community.side_effect = lambda community_id: {"id": community_id, "name": "Zonnedelen Gent",
                                                                  "manager_id": MANAGER}

    (sms,) = notify.list_deliveries(community_id="zonnedelen-gent")["deliveries"]

    assert (sms["kind"], sms["community_id"], sms["status"]) == ("sms_code_requested", None, "undeliverable")
