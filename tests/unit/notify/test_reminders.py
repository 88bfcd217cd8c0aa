import uuid

import pytest
from nameko.testing.services import worker_factory

from services.notify.models import OutboxMessage
from services.notify.settings import NotifySettings
from services.notify.service import NotifyService
from shared.contract import FILES_EXPIRING
from shared.outbox import Emitter
from tests.support.sinks import html, links_in, plain_text
from services.notify.dependencies import Turn
from tests.unit.notify.test_service import NOW, RECIPIENT, AuthAnswers, RecordingMailer

BASE_URL = "https://energiepost.example.be"


@pytest.fixture
def mailer():
    return RecordingMailer()


@pytest.fixture
def notify(open_session, mailer):
    from tests.support.clock import FixedClock

    session = open_session("notify")
    service = worker_factory(NotifyService, db=session, mailer=mailer, clock=FixedClock(NOW),
                             settings=NotifySettings.load({"PUBLIC_BASE_URL": BASE_URL}), turn=Turn(),
                             outbox=Emitter(session, OutboxMessage))
    service.auth.prepare_mail_recipients.side_effect = AuthAnswers(RECIPIENT)
    return service


def expiring(*files):
    return FILES_EXPIRING.build(community_id="zonnedelen-gent", run_date="2026-12-19", files=list(files))


def entry(name, expires, downloaded):
    return {"file_id": str(uuid.uuid4()), "name": name, "size": 1_250_000,
            "expires_at": f"{expires}T23:00:00+00:00", "downloaded": downloaded}  # the next midnight in Brussels


def test_one_reminder_lists_files_dates_and_what_was_never_downloaded(notify, mailer):
    notify.on_files_expiring(expiring(entry("oktober.csv", "2026-12-24", True), entry("november.csv", "2026-12-26", False)))
    (message,) = mailer.sent
    text = plain_text(message)
    assert "oktober.csv (1,25 MB): beschikbaar tot en met 24-12-2026\n" in text
    assert "november.csv (1,25 MB): beschikbaar tot en met 26-12-2026 (nog niet gedownload)" in text
    assert "Beschikbaar tot en met</th>" in html(message) and ">24-12-2026</td>" in html(message)
    assert links_in(message, BASE_URL) == [f"{BASE_URL}/files"]
    assert "nog niet" in html(message)
    assert "Wachtwoord" not in text
    assert "2 documenten worden binnenkort verwijderd" in message["Subject"]


def test_the_same_reminder_event_twice_sends_one_mail(notify, mailer):
    event = expiring(entry("oktober.csv", "2026-12-24", False))
    notify.on_files_expiring(event)
    notify.on_files_expiring(dict(event))
    assert len(mailer.sent) == 1
