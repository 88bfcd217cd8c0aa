"""What a manager may see and do with files in the portal: only their own community's
files, deletions that make a file unreachable for good, and a record of each download.

The session is resolved by auth (mocked here); the rules are files' own.
"""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from services.files import access
from services.files.settings import FilesSettings
from services.files.models import Download, File, OutboxMessage
from services.files.service import FilesService
from shared.blobs import FileBlobStore
from shared.contract import FILE_DELETED, FILE_DOWNLOADED
from shared.errors import Gone, InvalidInput, NotFound
from shared.outbox import Emitter
from tests.support.clock import FixedClock
from tests.support.workers import Worker

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
MINE, THEIRS = "zonnedelen-gent", "wind-aalst"
MANAGER = {"manager_id": str(uuid.uuid4()), "login": "beheer@example.be",
           "communities": [{"id": MINE, "name": "Zonnedelen Gent"}]}
SESSION = "a-session-token"


class UndeletableBlobStore(FileBlobStore):
    """A blob store whose deletes fail (a full disk, a network share gone away)."""

    def delete(self, key):
        raise OSError("blob store unavailable")


def files_service(session, blobs, clock) -> Worker:
    service = worker_factory(FilesService, db=session, blobs=blobs, clock=clock,
                             settings=FilesSettings.load({"RETENTION_DAYS": "30"}),
                             outbox=Emitter(session, OutboxMessage))
    service.auth.get_community.side_effect = lambda community_id: {"id": community_id, "name": community_id}
    service.auth.resolve_session.return_value = MANAGER
    return Worker(service, session)


def publish(files, blobs, clock, name, content=b"ean;kwh\n541448;12,5\n", community=MINE) -> str:
    """A published file (a minute after the previous one); returns its id."""
    clock.advance(minutes=1)
    blob = blobs.put([content])
    return files.publish_file(community, blob.key, name, blob.size, blob.sha256, "periodic", None)["id"]


def names(listing) -> list[str]:
    return [f["name"] for f in listing]


def file_row(session, file_id) -> File:
    return session.get(File, file_id)


def downloads(session) -> list[Download]:
    return list(session.scalars(select(Download).order_by(Download.id)))


def deleted_events(session) -> list[dict]:
    return [FILE_DELETED.parse(row.payload) for row in session.scalars(
        select(OutboxMessage).where(OutboxMessage.event_type == "file_deleted").order_by(OutboxMessage.id))]


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def session(open_session):
    return open_session("files")


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def blobs(tmp_path):
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
def files(session, blobs, clock):
    return files_service(session, blobs, clock)


@pytest.fixture
def catalogue(files, blobs, clock):
    """Three live files of mine (published b, a, c: other names, sizes and dates),
    one deleted file of mine, one file of another community."""
    ids = {
        "b.csv": publish(files, blobs, clock, "b.csv", b"22"),
        "a.csv": publish(files, blobs, clock, "a.csv", b"333"),
        "c.csv": publish(files, blobs, clock, "c.csv", b"1"),
        "weg.csv": publish(files, blobs, clock, "weg.csv"),
        "theirs.csv": publish(files, blobs, clock, "theirs.csv", community=THEIRS),
    }
    files.delete_my_files(SESSION, [ids["weg.csv"]])
    return ids


# --- listing and links -----------------------------------------------------------------------

def my_files(files, *args, **kwargs):
    return files.list_my_files(SESSION, *args, **kwargs)["files"]


def link(files, file_id):
    """What the e-mail link shows: the page that holds the file, the file selected."""
    listing = files.list_my_files(SESSION, focus=file_id)
    return next(f for f in listing["files"] if f["id"] == file_id)


def test_the_list_shows_only_my_communitys_undeleted_files(files, catalogue):
    listing = my_files(files)
    assert sorted(names(listing)) == ["a.csv", "b.csv", "c.csv"]
    assert {f["community_id"] for f in listing} == {MINE}
    assert all(f["is_new"] for f in listing)
    files.service.auth.resolve_session.assert_called_with(SESSION)


@pytest.mark.parametrize("sort, descending, expected", [
    ("name", False, ["a.csv", "b.csv", "c.csv"]),
    ("name", True, ["c.csv", "b.csv", "a.csv"]),
    ("size", False, ["c.csv", "b.csv", "a.csv"]),
    ("size", True, ["a.csv", "b.csv", "c.csv"]),
    ("date", False, ["b.csv", "a.csv", "c.csv"]),
    ("date", True, ["c.csv", "a.csv", "b.csv"]),
])
def test_the_list_sorts_by_name_size_or_date_either_way(files, catalogue, sort, descending, expected):
    assert names(my_files(files, sort, descending)) == expected


def test_the_default_order_is_by_name_a_to_z_as_in_the_text(files, catalogue):
    assert names(my_files(files)) == ["a.csv", "b.csv", "c.csv"]


def test_a_link_to_my_file_shows_it(files, catalogue):
    assert link(files, catalogue["a.csv"])["name"] == "a.csv"


def test_a_link_to_another_communitys_file_is_not_found(files, catalogue):
    with pytest.raises(NotFound):
        link(files, catalogue["theirs.csv"])


def test_a_link_to_a_deleted_file_is_gone(files, catalogue):
    with pytest.raises(Gone):
        link(files, catalogue["weg.csv"])


def test_a_link_to_an_unknown_or_malformed_id_is_not_found(files, catalogue):
    for file_id in (str(uuid.uuid4()), "../../etc/passwd"):
        with pytest.raises(NotFound):
            link(files, file_id)


def test_the_list_answers_with_the_session_so_the_gateway_needs_no_call_of_its_own(files, catalogue):
    assert files.list_my_files(SESSION)["session"] == MANAGER


@pytest.fixture
def paged(monkeypatch, files, blobs, clock):
    """Seven files of mine, two to a page."""
    monkeypatch.setattr(access, "PAGE_SIZE", 2)
    return {name: publish(files, blobs, clock, name, b"x" * size)
            for size, name in enumerate(["a.csv", "b.csv", "c.csv", "d.csv", "e.csv", "f.csv", "g.csv"], 1)}


@pytest.mark.parametrize("page, expected", [(1, ["a.csv", "b.csv"]), (3, ["e.csv", "f.csv"]), (4, ["g.csv"]),
                                             (99, ["g.csv"]), (0, ["a.csv", "b.csv"])])
def test_a_long_list_comes_a_page_at_a_time_with_the_count_and_size_of_all(files, paged, page, expected):
    listing = files.list_my_files(SESSION, "name", False, page)
    assert names(listing["files"]) == expected
    assert (listing["count"], listing["total_size"], listing["pages"]) == (7, sum(range(1, 8)), 4)
    assert listing["page"] == min(max(page, 1), 4)


def test_pages_follow_the_chosen_order(files, paged):
    assert names(my_files(files, "size", True, 2)) == ["e.csv", "d.csv"]


def test_an_email_link_opens_the_page_that_holds_its_file(files, paged):
    listing = files.list_my_files(SESSION, "name", True, 1, paged["b.csv"])
    assert (listing["page"], names(listing["files"])) == (3, ["c.csv", "b.csv"])


@pytest.mark.parametrize("sort", ["name", "size", "date"])
@pytest.mark.parametrize("descending", [False, True])
def test_an_email_link_opens_its_page_in_every_order_whatever_the_ties(
        monkeypatch, files, session, sort, descending):
    """Equal names, sizes and dates: the pages still split one order, and a link's page holds its file."""
    monkeypatch.setattr(access, "PAGE_SIZE", 2)
    session.add_all(File(id=str(uuid.uuid4()), community_id=MINE, name=f"{'ab'[n % 2]}.csv", size=n % 3,
                         sha256="a" * 64, kind="periodic", shared_by="Fluvius", blob_key=uuid.uuid4().hex,
                         published_at=NOW - timedelta(days=n % 2), expires_at=NOW + timedelta(days=30))
                    for n in range(7))
    session.commit()
    in_order = [f["id"] for page in (1, 2, 3, 4) for f in my_files(files, sort, descending, page)]
    assert len(set(in_order)) == 7
    for position, file_id in enumerate(in_order):
        listing = files.list_my_files(SESSION, sort, descending, 1, file_id)
        assert listing["page"] == position // 2 + 1 and file_id in [f["id"] for f in listing["files"]]


@pytest.mark.parametrize("page", ["2", 1.5, None, True])
def test_a_page_that_is_not_a_whole_number_is_refused(files, paged, page):
    with pytest.raises(InvalidInput):
        files.list_my_files(SESSION, "name", False, page)


def test_the_files_chosen_for_deletion_are_described_and_only_mine(files, catalogue):
    chosen = files.describe_my_files(SESSION, [catalogue["c.csv"], catalogue["a.csv"]])
    assert names(chosen) == ["c.csv", "a.csv"]
    for other in (catalogue["theirs.csv"], catalogue["weg.csv"], "../x"):
        with pytest.raises(NotFound):
            files.describe_my_files(SESSION, [catalogue["a.csv"], other])


# --- downloads -------------------------------------------------------------------------------

def test_a_download_is_recorded_per_file_and_clears_new(files, session, clock, catalogue):
    wanted = [catalogue["a.csv"], catalogue["b.csv"]]
    granted = files.grant_download(SESSION, wanted)
    assert [g["id"] for g in granted] == wanted
    assert all(g["blob_key"] for g in granted)
    rows = downloads(session)
    assert [r.file_id for r in rows] == wanted
    assert {(r.manager_id, r.login, r.at) for r in rows} == {(MANAGER["manager_id"], MANAGER["login"], clock.now())}
    assert len({r.batch_id for r in rows}) == 1
    assert file_row(session, catalogue["a.csv"]).first_downloaded_at == clock.now()
    is_new = {f["name"]: f["is_new"] for f in my_files(files)}
    assert is_new == {"a.csv": False, "b.csv": False, "c.csv": True}


def test_a_second_download_is_recorded_but_keeps_the_first_date(files, session, clock, catalogue):
    first = clock.now()
    files.grant_download(SESSION, [catalogue["a.csv"]])
    clock.advance(hours=1)
    files.grant_download(SESSION, [catalogue["a.csv"]])
    assert [r.at for r in downloads(session)] == [first, clock.now()]
    assert file_row(session, catalogue["a.csv"]).first_downloaded_at == first
    announced = [FILE_DOWNLOADED.parse(row.payload) for row in session.scalars(
        select(OutboxMessage).where(OutboxMessage.event_type == FILE_DOWNLOADED.name))]
    assert [(e["file_id"], e["downloaded_at"]) for e in announced] == [(catalogue["a.csv"], first.isoformat())]


@pytest.mark.parametrize("foreign", ["theirs.csv", "unknown"])
def test_a_download_including_a_file_not_mine_is_refused_and_records_nothing(files, session, catalogue, foreign):
    other = catalogue.get(foreign, str(uuid.uuid4()))
    with pytest.raises(NotFound):
        files.grant_download(SESSION, [catalogue["a.csv"], other])
    assert downloads(session) == []
    assert file_row(session, catalogue["a.csv"]).first_downloaded_at is None
    assert file_row(session, catalogue["theirs.csv"]).first_downloaded_at is None


def test_a_deleted_file_cannot_be_downloaded(files, session, catalogue):
    with pytest.raises(Gone):
        files.grant_download(SESSION, [catalogue["weg.csv"]])
    assert downloads(session) == []


# --- deleting --------------------------------------------------------------------------------

def test_deleting_marks_the_file_removes_the_blob_and_tells_the_others(files, session, blobs, clock, catalogue):
    file_id = catalogue["a.csv"]
    blob_key = file_row(session, file_id).blob_key
    assert blobs.exists(blob_key)
    events_before = len(deleted_events(session))

    assert files.delete_my_files(SESSION, [file_id]) == {"deleted": 1}

    row = file_row(session, file_id)
    assert (row.deleted_at, row.deleted_reason, row.deleted_by) == (clock.now(), "manager", MANAGER["login"])
    assert row.blob_key is None
    assert not blobs.exists(blob_key)
    (event,) = deleted_events(session)[events_before:]
    assert (event["file_id"], event["community_id"], event["reason"]) == (file_id, MINE, "manager")
    assert "a.csv" not in names(my_files(files))
    with pytest.raises(Gone):
        link(files, file_id)


def test_deleting_another_communitys_file_is_refused_and_changes_nothing(files, session, blobs, catalogue):
    file_id = catalogue["theirs.csv"]
    events_before = len(deleted_events(session))
    with pytest.raises(NotFound):
        files.delete_my_files(SESSION, [catalogue["a.csv"], file_id])
    assert file_row(session, file_id).deleted_at is None
    assert file_row(session, catalogue["a.csv"]).deleted_at is None
    assert blobs.exists(file_row(session, file_id).blob_key)
    assert len(deleted_events(session)) == events_before


def test_deleting_twice_sends_one_event(files, session, catalogue):
    events_before = len(deleted_events(session))
    files.delete_my_files(SESSION, [catalogue["a.csv"]])
    assert files.delete_my_files(SESSION, [catalogue["a.csv"]]) == {"deleted": 0}
    assert len(deleted_events(session)) == events_before + 1


def test_a_blob_that_will_not_go_keeps_its_key_for_a_retry_and_the_file_stays_unreachable(
        session, clock, tmp_path):
    store = UndeletableBlobStore(tmp_path / "stubborn")
    files = files_service(session, store, clock)
    file_id = publish(files, store, clock, "a.csv")
    blob_key = file_row(session, file_id).blob_key

    assert files.delete_my_files(SESSION, [file_id]) == {"deleted": 1}

    row = file_row(session, file_id)
    assert row.deleted_at is not None and row.deleted_reason == "manager"
    assert row.blob_key == blob_key and store.exists(blob_key)  # left for the retention run to retry
    assert len(deleted_events(session)) == 1
    assert my_files(files) == []
    with pytest.raises(Gone):
        link(files, file_id)
    with pytest.raises(Gone):
        files.grant_download(SESSION, [file_id])
    assert downloads(session) == []


# --- expiry: gone at its moment, whether or not the nightly run came ----------------------------

EXPIRES = datetime(2026, 12, 25, 23, 0, tzinfo=timezone.utc)  # 26-12-2026 00:00 in Brussels: files of 26-11


@pytest.mark.parametrize("offset, available", [(-1, True), (0, False), (1, False), (60 * 24 * 3, False)])
def test_a_file_is_gone_from_its_moment_of_expiry_not_from_the_nightly_run(
        files, session, clock, catalogue, offset, available):
    a, b = catalogue["a.csv"], catalogue["b.csv"]
    assert file_row(session, a).expires_at == EXPIRES == file_row(session, b).expires_at
    clock.at = EXPIRES + timedelta(minutes=offset)  # no retention run at all

    assert ("a.csv" in names(my_files(files))) is available
    if available:
        assert link(files, a)["name"] == "a.csv"
        assert [g["id"] for g in files.grant_download(SESSION, [a])] == [a]
        assert [g["id"] for g in files.grant_download(SESSION, [a, b])] == [a, b]  # a zip
        assert len(downloads(session)) == 3
    else:
        with pytest.raises(Gone):
            link(files, a)
        with pytest.raises(Gone):
            files.grant_download(SESSION, [a])
        with pytest.raises(Gone):
            files.grant_download(SESSION, [a, b])  # a zip with an expired file in it: refused whole
        assert downloads(session) == []
        assert files.delete_my_files(SESSION, [a]) == {"deleted": 0}  # left to the retention run
        assert file_row(session, a).deleted_at is None


def test_a_file_of_a_later_day_stays_while_an_earlier_one_is_gone(files, session, blobs, clock, catalogue):
    clock.at = datetime(2026, 11, 26, 23, 30, tzinfo=timezone.utc)  # 27-11 00:30 in Brussels: a day later
    later = publish(files, blobs, clock, "later.csv")
    assert file_row(session, later).expires_at == EXPIRES + timedelta(days=1)
    clock.at = EXPIRES + timedelta(minutes=1)
    assert names(my_files(files)) == ["later.csv"]
    assert link(files, later)["name"] == "later.csv"
