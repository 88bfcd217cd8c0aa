"""Retention with a controllable clock: the schedule, the reminder window, the expiry instant."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from nameko.testing.services import worker_factory
from prometheus_client import REGISTRY

from services.files.settings import FilesSettings
from services.files import retention
from services.files.models import File, OutboxMessage, RetentionRun
from services.files.service import FilesService
from shared.blobs import FileBlobStore
from shared.contract import FILES_EXPIRING, RETENTION_DUE
from shared.formatting import last_day_nl
from shared.outbox import Emitter
from tests.support.clock import FixedClock

BRUSSELS = ZoneInfo("Europe/Brussels")
TWO_AM = time(2, 0)


def brussels(*args) -> datetime:
    return datetime(*args, tzinfo=BRUSSELS)


# --- the schedule ------------------------------------------------------------------------------

def test_a_new_system_fires_only_the_latest_due_date():
    assert retention.dates_to_fire(None, brussels(2026, 11, 26, 2, 0), TWO_AM, BRUSSELS) == [date(2026, 11, 26)]
    assert retention.dates_to_fire(None, brussels(2026, 11, 26, 1, 59), TWO_AM, BRUSSELS) == [date(2026, 11, 25)]


def test_nothing_is_due_twice_in_a_day():
    assert retention.dates_to_fire(date(2026, 11, 26), brussels(2026, 11, 26, 23, 0), TWO_AM, BRUSSELS) == []
    assert retention.dates_to_fire(date(2026, 11, 26), brussels(2026, 11, 27, 1, 59), TWO_AM, BRUSSELS) == []
    assert retention.dates_to_fire(date(2026, 11, 26), brussels(2026, 11, 27, 2, 0), TWO_AM, BRUSSELS) == [
        date(2026, 11, 27)]


def test_every_missed_date_is_caught_up_in_order():
    fired = retention.dates_to_fire(date(2026, 11, 23), brussels(2026, 11, 26, 9, 0), TWO_AM, BRUSSELS)
    assert fired == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]


@pytest.mark.parametrize(
    "night, utc_due",
    [
        (date(2027, 3, 28), datetime(2027, 3, 28, 1, 0, tzinfo=timezone.utc)),   # 02:00 does not exist: 03:00 CEST
        (date(2027, 10, 31), datetime(2027, 10, 31, 0, 0, tzinfo=timezone.utc)),  # 02:00 happens twice: the first
        (date(2027, 1, 15), datetime(2027, 1, 15, 1, 0, tzinfo=timezone.utc)),    # winter: CET
        (date(2027, 7, 15), datetime(2027, 7, 15, 0, 0, tzinfo=timezone.utc)),    # summer: CEST
    ],
)
def test_due_at_two_in_brussels_whatever_the_daylight_saving(night, utc_due):
    assert retention.due_instant(night, TWO_AM, BRUSSELS).astimezone(timezone.utc) == utc_due


@pytest.mark.parametrize("night", [date(2027, 3, 28), date(2027, 10, 31)])
def test_a_dst_night_fires_exactly_once(night):
    fired = []
    last = night - timedelta(days=1)
    moment = datetime.combine(night - timedelta(days=1), time(12, 0), tzinfo=timezone.utc)
    while moment < datetime.combine(night + timedelta(days=1), time(0, 0), tzinfo=timezone.utc):
        due = retention.dates_to_fire(last, moment, TWO_AM, BRUSSELS)
        fired += due
        last = due[-1] if due else last
        moment += timedelta(minutes=10)
    assert fired == [night]


# --- the expiry moment ---------------------------------------------------------------------------

@pytest.mark.parametrize("published, expires", [
    (brussels(2026, 11, 10, 0, 30), brussels(2026, 12, 10, 0, 0)),   # just after midnight: 29 days 23.5 hours
    (brussels(2026, 11, 10, 23, 59), brussels(2026, 12, 10, 0, 0)),  # just before midnight: 29 days and a minute
    (brussels(2026, 10, 1, 12, 0), brussels(2026, 10, 31, 0, 0)),    # across the autumn change: 29 days 13 hours
    (brussels(2026, 10, 10, 1, 30), brussels(2026, 11, 9, 0, 0)),    # autumn change ahead: exactly 30 × 24 hours
    (brussels(2026, 10, 10, 0, 30), brussels(2026, 11, 8, 0, 0)),    # ... would be 30 days 30 minutes: a day less
    (brussels(2027, 3, 28, 0, 30), brussels(2027, 4, 27, 0, 0)),     # spring change day, before 02:00
    (brussels(2027, 3, 28, 23, 59), brussels(2027, 4, 27, 0, 0)),    # spring change day, evening
    (brussels(2026, 10, 25, 0, 30), brussels(2026, 11, 23, 0, 0)),   # autumn change day, before it: 25-hour day
    (datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc), brussels(2026, 11, 24, 0, 0)),  # 02:30 CEST, the first
    (datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc), brussels(2026, 11, 24, 0, 0)),  # 02:30 CET, the second
])
def test_a_file_expires_at_the_start_of_a_brussels_day_within_thirty_days(published, expires):
    moment = retention.expiry_moment(published, 30)
    assert moment == expires and moment.tzinfo == timezone.utc
    assert published < moment <= published + timedelta(days=30)


def test_every_publication_moment_gets_a_midnight_at_most_thirty_days_on_and_at_least_the_29_days_before():
    published = datetime(2026, 9, 20, 0, 0, tzinfo=timezone.utc)
    while published < datetime(2027, 4, 20, tzinfo=timezone.utc):  # both changes of 2026-27, every 7 minutes
        moment = retention.expiry_moment(published, 30)
        local_expiry = moment.astimezone(BRUSSELS)
        assert local_expiry.time() == time(0), published
        assert moment - published <= timedelta(days=30), published
        last_day = (local_expiry - timedelta(days=1)).date()
        assert last_day - published.astimezone(BRUSSELS).date() in (timedelta(days=28), timedelta(days=29)), published
        published += timedelta(minutes=7)


# --- the service ------------------------------------------------------------------------------

PUBLISHED = datetime(2026, 10, 1, 10, 0, tzinfo=timezone.utc)


class FailingBlobStore(FileBlobStore):
    def __init__(self, root):
        super().__init__(root)
        self.failing = True

    def delete(self, key):
        if self.failing:
            raise OSError("storage unavailable")
        super().delete(key)


@pytest.fixture
def session(open_session):
    return open_session("files")


@pytest.fixture
def blobs(tmp_path):
    return FailingBlobStore(tmp_path / "blobs")


@pytest.fixture
def clock():
    return FixedClock(PUBLISHED)


@pytest.fixture
def files(session, blobs, clock):
    blobs.failing = False
    service = worker_factory(FilesService, db=session, blobs=blobs, clock=clock, settings=FilesSettings.load({}),
                             outbox=Emitter(session, OutboxMessage))
    service.auth.get_community.return_value = {"id": "zonnedelen-gent", "name": "Zonnedelen Gent"}
    return service


def publish(files, blobs, clock, *, at=PUBLISHED, community="zonnedelen-gent", name="a.csv"):
    clock.at = at
    blob = blobs.put([b"ean;afname\n"])
    return files.publish_file(community, blob.key, name, blob.size, blob.sha256)


def run(files, clock, run_date: date):
    clock.at = retention.due_instant(run_date, TWO_AM, BRUSSELS) + timedelta(minutes=1)
    files.on_retention_due(RETENTION_DUE.build(run_date=run_date.isoformat(), trigger="manual"))


def events(session, event_type):
    session.rollback()
    return [row.payload for row in session.query(OutboxMessage).filter_by(event_type=event_type)
            .order_by(OutboxMessage.id)]


def test_reminder_window_edges(files, session, blobs, clock):
    file = publish(files, blobs, clock)  # 1-10 12:00 in Brussels: available through 30-10, expires 31-10 00:00
    run(files, clock, date(2026, 10, 23))  # eight days left (23-10 to 30-10)
    assert events(session, "files_expiring") == []
    run(files, clock, date(2026, 10, 24))  # seven days left (24-10 to 30-10): REMINDER_DAYS before
    (reminder,) = events(session, "files_expiring")
    FILES_EXPIRING.parse(reminder)
    assert [f["file_id"] for f in reminder["files"]] == [file["id"]]
    assert reminder["files"][0]["downloaded"] is False
    assert last_day_nl(reminder["files"][0]["expires_at"]) == "30-10-2026"
    run(files, clock, date(2026, 10, 25))
    assert len(events(session, "files_expiring")) == 1  # reminded once
    (for_upstream,) = events(session, "file_reminded")
    assert (for_upstream["file_id"], for_upstream["expires_at"]) == (file["id"], reminder["files"][0]["expires_at"])


def test_reminded_seven_days_before_expiry_across_a_dst_change(files, session, blobs, clock):
    publish(files, blobs, clock, at=brussels(2026, 9, 27, 12, 0))  # expires 27-10 00:00 CET, after 25-10's change
    run(files, clock, date(2026, 10, 19))
    assert events(session, "files_expiring") == []
    run(files, clock, date(2026, 10, 20))  # 20-10 to 26-10: seven days, one of them 25 hours long
    (reminder,) = events(session, "files_expiring")
    assert last_day_nl(reminder["files"][0]["expires_at"]) == "26-10-2026"


@pytest.mark.parametrize("published", [
    brussels(2026, 11, 12, 0, 30),   # between midnight and the run: once deleted on the morning of its last day
    brussels(2026, 11, 12, 1, 59),
    brussels(2026, 11, 12, 12, 0),
    brussels(2026, 11, 12, 23, 59),
])
def test_deleted_by_the_run_after_its_last_day_never_on_it(files, session, blobs, clock, published):
    file = publish(files, blobs, clock, at=published)
    row = session.get(File, file["id"])
    assert row.expires_at == brussels(2026, 12, 12, 0, 0) and last_day_nl(row.expires_at) == "11-12-2026"
    run(files, clock, date(2026, 12, 11))  # its last day, 02:00
    session.expire_all()
    assert session.get(File, file["id"]).deleted_at is None
    run(files, clock, date(2026, 12, 12))
    session.expire_all()
    deleted = session.get(File, file["id"])
    assert deleted.deleted_reason == "retention"
    assert deleted.expires_at <= deleted.deleted_at  # unreachable already when the run removed it
    assert [e["file_id"] for e in events(session, "file_deleted")] == [file["id"]]


def test_deletion_removes_the_blob_and_keeps_a_tombstone(files, session, blobs, clock):
    file = publish(files, blobs, clock)
    key = session.get(File, file["id"]).blob_key
    run(files, clock, date(2026, 11, 1))
    session.expire_all()
    tombstone = session.get(File, file["id"])
    assert (tombstone.name, tombstone.size, tombstone.sha256) == ("a.csv", file["size"], file["sha256"])
    assert tombstone.published_at == PUBLISHED and tombstone.deleted_reason == "retention"
    assert tombstone.blob_key is None and not blobs.exists(key)
    listed = files.list_files("zonnedelen-gent")
    assert listed[0]["deleted_at"] and listed[0]["deleted_reason"] == "retention"


def test_a_failing_blob_store_is_retried_next_run_and_nothing_half_deleted_shows(files, session, blobs, clock):
    file = publish(files, blobs, clock)
    key = session.get(File, file["id"]).blob_key
    blobs.failing = True
    run(files, clock, date(2026, 11, 1))
    session.expire_all()
    row = session.get(File, file["id"])
    assert row.deleted_at is not None and row.blob_key == key  # unreachable, blob still to remove
    files.auth.resolve_session.return_value = {"manager_id": "m", "login": "l",
                                               "communities": [{"id": "zonnedelen-gent", "name": "Z"}]}
    assert files.list_my_files("token")["files"] == []
    blobs.failing = False
    run(files, clock, date(2026, 11, 2))
    session.expire_all()
    assert session.get(File, file["id"]).blob_key is None and not blobs.exists(key)


def test_a_file_the_manager_deleted_gets_no_reminder(files, session, blobs, clock):
    file = publish(files, blobs, clock)
    files.auth.resolve_session.return_value = {"manager_id": "m", "login": "beheer@example.be",
                                               "communities": [{"id": "zonnedelen-gent", "name": "Z"}]}
    files.delete_my_files("token", [file["id"]])
    run(files, clock, date(2026, 10, 26))
    assert events(session, "files_expiring") == []


def test_one_reminder_per_community_listing_its_files(files, session, blobs, clock):
    publish(files, blobs, clock, name="a.csv")
    publish(files, blobs, clock, name="b.csv")
    files.auth.get_community.return_value = {"id": "wind-aalst", "name": "Wind Aalst"}
    publish(files, blobs, clock, community="wind-aalst", name="c.csv")
    run(files, clock, date(2026, 10, 26))
    reminders = {e["community_id"]: sorted(f["name"] for f in e["files"]) for e in events(session, "files_expiring")}
    assert reminders == {"zonnedelen-gent": ["a.csv", "b.csv"], "wind-aalst": ["c.csv"]}


def test_a_second_run_for_the_same_date_changes_nothing(files, session, blobs, clock):
    publish(files, blobs, clock)
    run(files, clock, date(2026, 11, 1))
    before = session.query(OutboxMessage).count()
    run(files, clock, date(2026, 11, 1))
    assert session.query(OutboxMessage).count() == before


def test_the_scheduler_claims_each_date_once_across_replicas(files, session, clock):
    clock.at = brussels(2026, 11, 26, 2, 1)
    files.schedule_retention()
    files.schedule_retention()  # a second replica's timer
    assert [r.run_date for r in session.query(RetentionRun).all()] == [date(2026, 11, 26)]
    clock.at = brussels(2026, 11, 29, 8, 0)  # down for three days
    files.schedule_retention()
    session.expire_all()
    assert [r.run_date for r in session.query(RetentionRun).order_by(RetentionRun.id)] == [
        date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]
    fired = [e["run_date"] for e in events(session, "retention_due")]
    assert fired == ["2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29"]


def test_a_manual_run_does_not_disturb_the_schedule(files, session, clock):
    clock.at = brussels(2026, 11, 26, 9, 0)
    assert files.fire_retention("2026-12-27") == {"run_date": "2026-12-27"}
    files.schedule_retention()
    assert [e["run_date"] for e in events(session, "retention_due")] == ["2026-12-27", "2026-11-26"]


def test_a_run_is_timed_and_its_deletions_counted_in_the_metrics(files, blobs, clock):
    def sample(name):
        return REGISTRY.get_sample_value(name) or 0.0

    runs, deleted = sample("energiepost_retention_run_seconds_count"), sample("energiepost_retention_deletions_total")
    publish(files, blobs, clock, name="a.csv")
    publish(files, blobs, clock, name="b.csv")
    run(files, clock, date(2026, 10, 31))  # both expired at 31-10 00:00
    assert sample("energiepost_retention_run_seconds_count") == runs + 1
    assert sample("energiepost_retention_deletions_total") == deleted + 2
    run(files, clock, date(2026, 11, 1))  # nothing left to delete
    assert sample("energiepost_retention_deletions_total") == deleted + 2
