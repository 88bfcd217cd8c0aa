"""The managers' portal, files, through the real services, broker, databases and blob store:
the list, downloads, authorisation between communities, deleting, and no way to upload."""
import io
import re
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

import pytest
import requests

from services.files.models import File
from shared.blobs import BlobStoreSettings, open_blob_store
from shared.errors import NotFound
from shared.formatting import date_nl
from tests.support.portal import (  # noqa: F401  (portal is a fixture)
    OWN_PASSWORD, error_text, file_rows, info_text, location_path, portal, totals,
)
from tests.support.blobstores import BACKENDS
from tests.support.sinks import links_in, plain_text
from tests.support.system import ingest, rpc, stored_blobs

CSV = b"ean;afname\n541448;12,5\n"  # the default content tests.support.system.ingest publishes


# --- 6. "Mijn ontvangen bestanden" ---------------------------------------------------------------

def test_the_list_opens_by_name_as_in_the_text_sortable_with_the_linked_one_selected(portal):
    user = portal.full_login()
    first = user.file_id
    big = portal.publish(filename="mededeling-netbeheer_2026.pdf", content=b"x" * 2_340_000, data={"kind": "adhoc"})
    mid = portal.publish(filename="a-overzicht.csv", content=b"y" * 999_999)
    today = date_nl(datetime.now(timezone.utc))
    mailed = {link.rsplit("/", 1)[1]: re.search(r"beschikbaar tot en met (\S+)\.", plain_text(mail)).group(1)
              for mail in portal.mails_to(user.login, 3) for link in links_in(mail, portal.base_url)}

    page = user.client.files_page()
    assert '<h1 class="title-block">Direct bestanden</h1>\n<h2 class="subtitle">Mijn ontvangen bestanden</h2>' \
        in page.text
    assert ('<a href="/files?sort=name&amp;dir=desc" aria-current="true">Naam <span aria-hidden="true">▲</span>'
            in page.text)  # the sort mark on Naam, as in the text
    assert "<th scope=\"col\" class=\"wide\">Beschikbaar tot en met</th>" in page.text
    assert "mededeling-<wbr>netbeheer_<wbr>2026.<wbr>pdf" in page.text  # may wrap at - _ . first
    rows = user.client.rows()
    assert [r.id for r in rows] == [mid, first, big]  # Naam, A to Z
    assert [r.name for r in rows] == ["a-overzicht.csv", "correcties-2026-10.csv", "mededeling-netbeheer_2026.pdf"]
    assert [r.size for r in rows] == ["1,00 MB", "23 B", "2,34 MB"]  # never "0,00 MB", never "1000,00 kB"
    assert all(r.is_new for r in rows)
    assert {r.published for r in rows} == {today} and re.fullmatch(r"[1-9]\d?-[1-9]\d?-\d{4}", today)
    assert {r.id: r.expires for r in rows} == mailed  # the e-mail's "tot en met" date, written the same way
    assert {r.shared_by for r in rows} == {"Fluvius"}
    assert [r.facts for r in rows] == [
        [kind, "Gedeeld door Fluvius", f"Beschikbaar tot en met {mailed[r.id]}"]
        for r, kind in zip(rows, ["periodiek bestand", "periodiek bestand", "ad-hoc communicatie"])]
    assert not any(r.checked or r.highlighted for r in rows)
    assert totals(page.text) == {"Aantal bestanden:": "3", "Totale grootte:": "3,34 MB"}

    orders = {
        "?sort=name&dir=asc": [mid, first, big],
        "?sort=name&dir=desc": [big, first, mid],
        "?sort=size&dir=asc": [first, mid, big],
        "?sort=size&dir=desc": [big, mid, first],
        "?sort=date&dir=asc": [first, big, mid],
        "?sort=date&dir=desc": [mid, big, first],
        "?sort=nonsense": [mid, first, big],  # unknown: by name
        "?sort=name": [mid, first, big],  # names A to Z by default
        "?sort=date": [mid, big, first],  # dates newest first by default
    }
    assert {query: [r.id for r in user.client.rows(query)] for query in orders} == orders
    assert 'href="/files?sort=name&amp;dir=desc"' in user.client.files_page("?sort=name&dir=asc").text
    by_date = user.client.files_page("?sort=date").text
    assert '<a href="/files?sort=date&amp;dir=asc" aria-current="true">Geplaatst op <span aria-hidden="true">▼' \
        in by_date and '<a href="/files?sort=name&amp;dir=asc">Naam</a>' in by_date

    linked = user.client.get(f"/files/{big}")
    assert linked.status_code == 200
    marked = {r.id: (r.checked, r.highlighted) for r in file_rows(linked.text)}
    assert marked == {mid: (False, False), big: (True, True), first: (False, False)}

    # the link from the e-mail, in a browser without a session: log in, then back to that file
    browser = portal.client()
    assert location_path(browser.get(f"/files/{big}")) == f"/login?next=%2Ffiles%2F{big}"
    again = portal.login_with_password(user.login, OWN_PASSWORD, client=browser, next_path=f"/files/{big}")
    assert location_path(again.verified) == f"/files/{big}"


def test_absurd_query_values_get_a_clear_400_or_are_ignored_never_a_500(portal):
    user = portal.full_login()
    client = user.client
    for query in ("?deleted=" + "9" * 5000, "?deleted=abc", "?deleted=-1", "?deleted=1e3", "?deleted=%00",
                  "?deleted=%D9%A1%D9%A2"):  # the last: Arabic-Indic digits, which Python's int() would take
        answer = client.get("/files" + query)
        assert answer.status_code == 400, (query[:30], answer.status_code)
        assert "Traceback" not in answer.text and "<h1>" in answer.text
    assert info_text(client.files_page("?deleted=12").text) == "12 bestanden verwijderd."

    ignored = ("?sort=" + "x" * 5000, "?dir=%00", "?sort=%ff%fe", "?sort=name&sort=size&dir=asc&dir=up",
               "?%ff=%ff", "?next=%0d%0a", "?x=" + "%00" * 2000, "?sort=name%0d%0aX:1")
    for query in ignored:
        assert client.get("/files" + query).status_code == 200, query[:30]
    for path in ("/files/%ff", "/files/" + "1" * 5000, "/files/%00", "/files/..%2f..%2fetc%2fpasswd"):
        assert client.get(path).status_code == 404, path[:30]
    for path in ("/login?next=" + "/" * 5000, "/code?resent=%0a", "/password/new?next=%ff", "/help?x=%00"):
        assert client.get(path).status_code < 500, path[:30]


# --- 7. downloads --------------------------------------------------------------------------------

@pytest.mark.parametrize("blob_store_config", BACKENDS, indirect=True)
def test_downloads_give_the_exact_bytes_alone_or_zipped_and_clear_new(portal):
    user = portal.full_login()
    name = "verbruik é 2026.csv"
    content = bytes(range(256)) * 64 + "é;ü\n".encode()
    single = portal.publish(filename=name, content=content)
    twin_a = portal.publish(filename="dubbel.csv", content=b"een\n")
    twin_b = portal.publish(filename="dubbel.csv", content=b"twee\n")
    client = user.client

    response = client.download(single)
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["Content-Length"] == str(len(content))
    assert response.headers["Content-Type"].split(";")[0] == "text/csv"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    encoded = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition).group(1)
    assert encoded == "verbruik%20%C3%A9%202026.csv" and unquote(encoded) == name
    fallback = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert fallback.isascii() and fallback.endswith(".csv")
    assert {r.id: r.is_new for r in client.rows()} == {single: False, twin_a: True, twin_b: True, user.file_id: True}

    response = client.download(twin_a, twin_b, user.file_id)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(set(names)) == 3 and "correcties-2026-10.csv" in names and "dubbel.csv" in names
    (renamed,) = set(names) - {"correcties-2026-10.csv", "dubbel.csv"}
    assert renamed.startswith("dubbel") and renamed.endswith(".csv")
    assert {archive.read(n) for n in ("dubbel.csv", renamed)} == {b"een\n", b"twee\n"}
    assert archive.read("correcties-2026-10.csv") == CSV
    assert not any(r.is_new for r in client.rows())
    listed = rpc(portal.config, "files", "list_files", community_id="zonnedelen-gent")
    assert all(f["first_downloaded_at"] for f in listed)


# --- 7b. retention at access ---------------------------------------------------------------------

def test_a_file_past_its_expiry_is_gone_at_once_without_waiting_for_the_nightly_run(portal, open_session):
    user = portal.full_login()
    lapsed, kept = user.file_id, portal.publish(filename="blijft.csv", content=b"blijft\n")
    files_db = open_session("files")
    now = datetime.now(timezone.utc)
    files_db.get(File, lapsed).expires_at = now - timedelta(minutes=1)  # as if its last day just ended
    files_db.get(File, kept).expires_at = now + timedelta(minutes=5)
    files_db.commit()
    client = user.client

    assert [r.id for r in client.rows()] == [kept]
    (link,) = links_in(portal.mails_to(user.login)[0], portal.base_url)
    gone = client.http.get(link, allow_redirects=False)
    assert gone.status_code == 410 and "niet meer beschikbaar" in gone.text
    single = client.download(lapsed)
    assert single.status_code == 410 and CSV not in single.content
    zipped = client.download(kept, lapsed)
    assert zipped.status_code == 410 and zipped.headers["Content-Type"].startswith("text/html")
    assert client.download(kept).content == b"blijft\n"

    files_db.expire_all()
    row = files_db.get(File, lapsed)
    assert row.deleted_at is None and row.first_downloaded_at is None  # no run came, nothing was handed out
    assert CSV in stored_blobs(portal.config).values()  # the nightly run removes what is unreachable already


def test_a_long_list_comes_a_hundred_at_a_time_and_the_mail_link_opens_its_page(portal, open_session):
    user = portal.full_login()  # its file: "correcties-2026-10.csv", after the 150 "archief-…" by name
    files_db = open_session("files")
    now = datetime.now(timezone.utc)
    files_db.add_all(File(id=str(uuid.uuid4()), community_id="zonnedelen-gent", name=f"archief-{n:03d}.csv", size=1_000,
                          sha256="a" * 64, kind="periodic", shared_by="Fluvius", blob_key=uuid.uuid4().hex,
                          published_at=now, expires_at=now + timedelta(days=3)) for n in range(150))
    files_db.commit()

    first = user.client.files_page()
    assert len(user.client.rows()) == 100
    assert totals(first.text) == {"Aantal bestanden:": "151", "Totale grootte:": "150,02 kB"}
    assert "Pagina 1 van 2" in first.text and 'href="/files?sort=name&amp;dir=asc&amp;page=2" rel="next"' in first.text
    second = user.client.rows("?sort=name&dir=asc&page=2")
    assert [r.name for r in second][-2:] == ["archief-149.csv", "correcties-2026-10.csv"] and len(second) == 51
    assert [r.name for r in user.client.rows("?sort=name&dir=asc&page=9")] == [r.name for r in second]  # the last

    (link,) = links_in(portal.mails_to(user.login)[0], portal.base_url)
    opened = user.client.http.get(link)
    assert opened.status_code == 200 and "Pagina 2 van 2" in opened.text
    assert [r.name for r in user.client.rows() if r.checked] == []  # the plain list selects nothing
    assert re.search(r'value="%s"[^>]* checked' % user.file_id, opened.text)


# --- 8. authorisation between communities --------------------------------------------------------

def test_a_manager_cannot_reach_another_communitys_file(portal):
    a = portal.full_login()
    rpc(portal.config, "auth", "add_community", community_id="zonnewijk-brugge", name="Zonnewijk Brugge",
        email="beheer@zonnewijk.be", gsm="0471 11 22 33")
    secret = b"alleen voor Brugge\n"
    b_file = portal.publish(community_id="zonnewijk-brugge", filename="brugge.csv", content=secret)
    portal.mails_to("beheer@zonnewijk.be")
    blobs = stored_blobs(portal.config)
    client = a.client

    answers = {
        "download": client.download(b_file),
        "download with own": client.download(a.file_id, b_file),
        "link": client.get(f"/files/{b_file}"),
        "delete": client.post("/files/delete", [("file", b_file)]),
        "delete confirm": client.post("/files/delete/confirm", [("file", b_file)]),
    }
    assert {what: r.status_code for what, r in answers.items()} == dict.fromkeys(answers, 404)
    for what, response in answers.items():
        assert secret not in response.content and "brugge.csv" not in response.text, what
        assert response.headers["Content-Type"].startswith("text/html"), what
    assert [r.id for r in client.rows()] == [a.file_id]

    with pytest.raises(NotFound):
        rpc(portal.config, "files", "grant_download", session_token=a.session_token, file_ids=[b_file])
    with pytest.raises(NotFound):
        rpc(portal.config, "files", "delete_my_files", session_token=a.session_token, file_ids=[b_file])

    (b_listed,) = rpc(portal.config, "files", "list_files", community_id="zonnewijk-brugge")
    assert b_listed["deleted_at"] is None and b_listed["first_downloaded_at"] is None  # untouched, still new
    (a_listed,) = rpc(portal.config, "files", "list_files", community_id="zonnedelen-gent")
    assert a_listed["first_downloaded_at"] is None  # the mixed request granted nothing
    assert stored_blobs(portal.config) == blobs


@pytest.mark.parametrize("blob_store_config", BACKENDS, indirect=True)
def test_a_file_whose_blob_the_store_lost_is_gone_and_stays_new(portal, open_session):
    """files finds the blob before it records the download: no receipt, *Nieuw* kept."""
    user = portal.full_login()
    kept = portal.publish(filename="blijft.csv", content=b"blijft\n")
    store = open_blob_store(BlobStoreSettings.load(portal.config))
    store.delete(open_session("files").get(File, user.file_id).blob_key)  # lost: a restore from backup, a mistake

    for selection in ((user.file_id,), (user.file_id, kept)):
        response = user.client.download(*selection)
        assert response.status_code == 410 and "niet meer beschikbaar" in response.text
    assert {r.id: r.is_new for r in user.client.rows()} == {user.file_id: True, kept: True}
    listed = rpc(portal.config, "files", "list_files", community_id="zonnedelen-gent")
    assert [f["first_downloaded_at"] for f in listed] == [None, None]
    assert user.client.download(kept).content == b"blijft\n"


# --- 9. deleting ---------------------------------------------------------------------------------

@pytest.mark.parametrize("blob_store_config", BACKENDS, indirect=True)
def test_delete_asks_for_confirmation_then_removes_the_file_for_good(portal):
    user = portal.full_login()
    keep = portal.publish(filename="blijft.csv", content=b"blijft\n")
    doomed = user.file_id
    blobs = stored_blobs(portal.config)
    assert sorted(blobs.values()) == sorted([CSV, b"blijft\n"])
    client = user.client

    confirm = client.post("/files/delete", [("file", doomed)])
    assert confirm.status_code == 200
    assert "correcties-2026-10.csv" in confirm.text and "blijft.csv" not in confirm.text
    assert f'<input type="hidden" name="file" value="{doomed}">' in confirm.text
    assert 'action="/files/delete/confirm"' in confirm.text
    assert [r.id for r in client.rows()] == [keep, doomed]  # nothing gone yet
    assert stored_blobs(portal.config) == blobs

    done = client.post("/files/delete/confirm", [("file", doomed)])
    assert location_path(done) == "/files?deleted=1"
    page = client.files_page("?deleted=1")
    assert info_text(page.text) == "1 bestand verwijderd."
    assert [r.id for r in client.rows()] == [keep]
    remaining = stored_blobs(portal.config)
    assert list(remaining.values()) == [b"blijft\n"]  # the deleted file's blob is gone from the store

    (link,) = links_in(portal.mails_to(user.login)[0], portal.base_url)
    gone = client.http.get(link, allow_redirects=False)
    assert gone.status_code == 410 and "niet meer beschikbaar" in gone.text
    download = client.download(doomed)
    assert download.status_code == 410 and CSV not in download.content
    again = client.post("/files/delete/confirm", [("file", doomed)])
    assert again.status_code in (303, 404) and stored_blobs(portal.config) == remaining
    deleted = [f for f in rpc(portal.config, "files", "list_files", community_id="zonnedelen-gent")
               if f["id"] == doomed]
    assert deleted[0]["deleted_at"] and deleted[0]["deleted_reason"] == "manager"


# --- 11. no upload from a manager's session -----------------------------------------------------

PORTAL_ROUTES = ("/files", "/files/download", "/files/delete", "/files/delete/confirm", "/login", "/code",
                 "/password/new", "/forgot", "/help")


def _without_emailed_at(files: list[dict]) -> list[dict]:
    """The files as the manager's actions could change them: ``emailed_at`` is set when notify's
    e-mail is accepted, which may happen while a test runs."""
    return [{key: value for key, value in file.items() if key != "emailed_at"} for file in files]


def test_a_manager_session_cannot_upload_anything(portal):
    user = portal.full_login()
    client = user.client
    blobs = stored_blobs(portal.config)
    rows = client.rows()
    listed = _without_emailed_at(rpc(portal.config, "files", "list_files", community_id="zonnedelen-gent"))
    upload = b"ge-upload door de beheerder\n"

    for route in PORTAL_ROUTES + (f"/files/{user.file_id}",):
        for field in ("file", "upload"):
            response = client.http.post(
                client.url(route), data={"csrf_token": client.csrf_token, "kind": "adhoc"},
                files={field: ("upload.csv", io.BytesIO(upload), "text/csv")}, allow_redirects=False, timeout=30)
            # the portal takes no files: 415, or 405 where there is no form to post at all
            assert response.status_code in (405, 415), (route, field, response.status_code)
            assert upload not in response.content, route
    api = client.http.post(f"{portal.base_url}/api/v1/communities/zonnedelen-gent/files",
                           files={"file": ("upload.csv", io.BytesIO(upload), "text/csv")}, timeout=30)
    assert api.status_code == 401
    assert ingest(portal.config, key=None, content=upload).status_code == 401  # the API helper without the key

    assert stored_blobs(portal.config) == blobs
    assert client.rows() == rows
    assert _without_emailed_at(rpc(portal.config, "files", "list_files", community_id="zonnedelen-gent")) == listed
    assert client.get("/files").status_code == 200  # still logged in: nothing above was a logout either
    refused = requests.post(f"{portal.base_url}/api/v1/communities/zonnedelen-gent/files",
                            cookies={"ep_session": user.session_token},
                            files={"file": ("x.csv", io.BytesIO(upload), "text/csv")}, timeout=30)
    assert refused.status_code == 401 and stored_blobs(portal.config) == blobs
    assert error_text(client.post("/files/download", []).text)  # an empty selection explains itself
