"""Retention with a controllable clock: the schedule, the reminder window, the expiry instant."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from nameko.testing.services import worker_factory

from services.files import retention
from services.files.models import File, OutboxMessage, RetentionRun
from services.files.service import FilesService
from shared.blobs import FileBlobStore
from shared.clock import FixedClock
from shared.contract import FILES_EXPIRING, RETENTION_DUE
from shared.settings import Settings

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
    service = worker_factory(FilesService, db=session, blobs=blobs, clock=clock, settings=Settings.load({}))
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
    file = publish(files, blobs, clock)  # expires 31-10 10:00 UTC (11:00 in Brussels)
    run(files, clock, date(2026, 10, 23))  # as of 23-10 02:00: 8 days and some hours before
    assert events(session, "files_expiring") == []
    run(files, clock, date(2026, 10, 24))  # 7 days and 10 hours before: outside the window
    assert events(session, "files_expiring") == []
    run(files, clock, date(2026, 10, 25))  # 6 days and 10 hours before: inside
    (reminder,) = events(session, "files_expiring")
    FILES_EXPIRING.parse(reminder)
    assert [f["file_id"] for f in reminder["files"]] == [file["id"]]
    assert reminder["files"][0]["downloaded"] is False
    run(files, clock, date(2026, 10, 26))
    assert len(events(session, "files_expiring")) == 1  # reminded once


def test_exactly_seven_days_before_is_inside_the_window(files, session, blobs, clock):
    as_of = retention.due_instant(date(2026, 10, 25), TWO_AM, BRUSSELS)
    publish(files, blobs, clock, at=as_of + timedelta(days=7) - timedelta(days=30))
    publish(files, blobs, clock, at=as_of + timedelta(days=7, seconds=1) - timedelta(days=30), name="b.csv")
    run(files, clock, date(2026, 10, 25))
    (reminder,) = events(session, "files_expiring")
    assert [f["name"] for f in reminder["files"]] == ["a.csv"]


def test_deleted_at_the_exact_expiry_instant_not_a_moment_before(files, session, blobs, clock):
    as_of = retention.due_instant(date(2026, 11, 10), TWO_AM, BRUSSELS)
    on_time = publish(files, blobs, clock, at=as_of - timedelta(days=30))
    later = publish(files, blobs, clock, at=as_of - timedelta(days=30) + timedelta(microseconds=1), name="b.csv")
    run(files, clock, date(2026, 11, 10))
    session.expire_all()
    assert session.get(File, on_time["id"]).deleted_reason == "expired"
    assert session.get(File, later["id"]).deleted_at is None
    assert [e["file_id"] for e in events(session, "file_deleted")] == [on_time["id"]]


def test_deletion_removes_the_blob_and_keeps_a_tombstone(files, session, blobs, clock):
    file = publish(files, blobs, clock)
    key = session.get(File, file["id"]).blob_key
    run(files, clock, date(2026, 11, 1))
    session.expire_all()
    tombstone = session.get(File, file["id"])
    assert (tombstone.name, tombstone.size, tombstone.sha256) == ("a.csv", file["size"], file["sha256"])
    assert tombstone.published_at == PUBLISHED and tombstone.deleted_reason == "expired"
    assert tombstone.blob_key is None and not blobs.exists(key)
    listed = files.list_files("zonnedelen-gent")
    assert listed[0]["deleted_at"] and listed[0]["deleted_reason"] == "expired"


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
    assert files.list_my_files("token") == []
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
