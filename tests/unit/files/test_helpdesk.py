"""files for the operator: the list with each file's downloads and reminder, a removed
community's files, and the audit of downloads and deletions."""
from datetime import timedelta

import pytest

from shared.contract import COMMUNITY_REMOVED
from shared.errors import InvalidInput
from tests.support.blobstores import contents
from tests.unit.files.test_access import (  # noqa: F401  (fixtures)
    MINE, NOW, SESSION, THEIRS, blobs, catalogue, clock, deleted_events, file_row, files, publish, session,
)


def test_the_operators_list_counts_downloads_and_shows_the_last(files, catalogue, clock):
    files.grant_download(SESSION, [catalogue["a.csv"]])
    clock.advance(minutes=5)
    files.grant_download(SESSION, [catalogue["a.csv"]])

    listed = {f["name"]: f for f in files.list_files(MINE)}

    a = listed["a.csv"]
    assert (a["downloads"], a["first_downloaded_at"], a["last_downloaded_at"]) == (
        2, (NOW + timedelta(minutes=5)).isoformat(), (NOW + timedelta(minutes=10)).isoformat())
    assert (listed["b.csv"]["downloads"], listed["b.csv"]["last_downloaded_at"]) == (0, None)
    assert listed["weg.csv"]["deleted_reason"] == "manager" and listed["weg.csv"]["deleted_by"] == "beheer@example.be"
    assert a["reminded_at"] is None


def test_a_removed_communitys_files_are_deleted_once_with_their_blobs(files, catalogue, session, blobs):
    before = len(deleted_events(session))
    event = COMMUNITY_REMOVED.build(community_id=MINE)

    files.on_community_removed(event)
    files.on_community_removed(event)  # redelivered: nothing more

    for name in ("a.csv", "b.csv", "c.csv"):
        row = file_row(session, catalogue[name])
        assert (row.deleted_reason, row.deleted_by, row.blob_key) == ("operator", "community removed", None)
    assert file_row(session, catalogue["theirs.csv"]).deleted_at is None
    assert len(deleted_events(session)) == before + 3
    assert len(contents(blobs)) == 1  # only the other community's file is left


def test_the_audit_has_downloads_and_deletions_in_time_order(files, catalogue, clock):
    clock.advance(minutes=1)
    files.grant_download(SESSION, [catalogue["a.csv"]])

    trail = files.list_audit_events(community_id=MINE)

    assert [(e["kind"], e["file_name"], e["login"]) for e in trail["events"]] == [
        ("file_deleted", "weg.csv", "beheer@example.be"), ("file_downloaded", "a.csv", "beheer@example.be")]
    assert trail["events"][1] == {"at": (NOW + timedelta(minutes=6)).isoformat(), "source": "files",
                                  "kind": "file_downloaded", "login": "beheer@example.be", "community_id": MINE,
                                  "client_ip": None, "file_id": catalogue["a.csv"], "file_name": "a.csv",
                                  "detail": None}
    assert files.list_audit_events(community_id=THEIRS)["events"] == []
    later = files.list_audit_events(since=(NOW + timedelta(minutes=6)).isoformat())
    assert [e["kind"] for e in later["events"]] == ["file_downloaded"]
    cut = files.list_audit_events(limit=1)
    assert [e["kind"] for e in cut["events"]] == ["file_downloaded"] and cut["truncated"] is True


@pytest.mark.parametrize("arguments", [{"since": "2026-13-01"}, {"limit": "10"}, {"community_id": ["x"]}])
def test_bad_audit_arguments_are_refused(files, arguments):
    with pytest.raises(InvalidInput):
        files.list_audit_events(**arguments)
