"""The managers' portal, logging in, through the real services, broker, databases and sinks:
the e-mail link, the initial password, the SMS code, cookies, CSRF, security headers,
the forgotten password, contact changes and what ends up in the logs."""
import logging
import re
import statistics
import time
from urllib.parse import quote_plus, urlsplit

import pytest
import requests

from services.auth.login import WRONG_LOGIN
from services.gateway.portal import FORGOT_ANSWER
from shared.errors import AuthenticationFailed
from tests.support.portal import (  # noqa: F401  (portal is a fixture)
    ATTEMPT_COOKIE, OWN_PASSWORD, SESSION_COOKIE, code_in, csrf_token_in, error_text, info_text, location_path,
    next_sms, portal, set_cookie, set_cookie_headers, without_csrf,
)
from tests.support.sinks import links_in, plain_text
from tests.support.system import rpc

NEW_PASSWORD = "groene zonnepanelen op het dak 7"


def cookie_attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


# --- 1. the e-mail link and failed logins ----------------------------------------------------

def test_mail_link_opens_login_and_unknown_login_looks_like_wrong_password(portal):
    file_id = portal.publish()
    (link,) = links_in(portal.mails_to("beheer@example.be")[0], portal.base_url)
    client = portal.client()

    opened = client.http.get(link, allow_redirects=False)
    assert opened.status_code == 303
    assert location_path(opened) == f"/login?next=%2Ffiles%2F{file_id}"
    page = client.get(location_path(opened))
    assert page.status_code == 200 and "<h1>Aanmelden</h1>" in page.text
    assert f'name="next" value="/files/{file_id}"' in page.text  # back to the file after logging in

    def unknown():
        return client.post("/login", {"login": "niemand@example.be", "password": "een-wachtwoord-123"})

    def wrong():
        return client.post("/login", {"login": "beheer@example.be", "password": "een-wachtwoord-123"})

    # Four of each, alternating which goes first, compared by their medians: a slow moment of a
    # loaded machine hits one answer, not one kind.  (Eight failures: under the address limit.)
    times = {unknown: [], wrong: []}
    answers = []
    for first, second in [(unknown, wrong), (wrong, unknown)] * 2:
        for kind in (first, second):
            started = time.perf_counter()
            answers.append((kind, kind()))
            times[kind].append(time.perf_counter() - started)
    assert [a.status_code for _, a in answers] == [401] * 8
    assert {error_text(a.text) for _, a in answers} == {WRONG_LOGIN}
    assert client.cookie(ATTEMPT_COOKIE) is None and client.session_token is None
    unknown_time, wrong_time = statistics.median(times[unknown]), statistics.median(times[wrong])
    assert 0.5 <= unknown_time / wrong_time <= 2, times


# --- 2. initial password, own password, SMS code ----------------------------------------------

def test_initial_password_must_be_replaced_and_the_sms_code_is_required(portal):
    portal.publish()
    credentials = portal.credentials()
    sms = portal.sms_sink

    client = portal.client()
    client.get("/login")
    logged_in = portal.login_with_initial_password(client, credentials)
    assert set_cookie(logged_in, SESSION_COOKIE) is None and set_cookie(logged_in, ATTEMPT_COOKIE)
    assert location_path(client.get("/files")).startswith("/login")
    assert client.get("/password/new").status_code == 200
    twin = portal.client()  # the same browser state, at the choose-password step, cannot skip to the code
    twin.http.cookies.update(client.http.cookies)
    twin.csrf_token = client.csrf_token
    skipped = twin.post("/code", {"code": "123456"})
    assert skipped.status_code == 401 and twin.session_token is None

    # The initial password works once: a second browser (whoever else has the e-mail) gets no further.
    other = portal.client()
    other.get("/login")
    reused = other.post("/login", credentials)
    assert reused.status_code == 401 and "al gebruikt" in error_text(reused.text)
    assert other.cookie(ATTEMPT_COOKIE) is None

    weak = client.post("/password/new", {"new_password": "kort", "new_password_confirm": "kort"})
    assert weak.status_code == 400 and "minstens 12 tekens" in error_text(weak.text)
    assert sms.messages() == []  # no code before an own password

    chosen = client.post("/password/new", {"new_password": OWN_PASSWORD, "new_password_confirm": OWN_PASSWORD})
    assert chosen.status_code == 303 and location_path(chosen) == "/code"
    assert set_cookie(chosen, SESSION_COOKIE) is None
    assert location_path(client.get("/files")).startswith("/login")
    first_code = code_in(next_sms(sms, 0))
    assert sms.messages()[0]["to"] == "+32470123456"

    wrong = client.post("/code", {"code": "000000" if first_code != "000000" else "111111"})
    assert wrong.status_code == 401 and error_text(wrong.text).startswith("De code is niet juist.")
    assert client.session_token is None
    assert location_path(client.get("/files")).startswith("/login")

    for _ in range(3):  # reloading the code page sends nothing
        assert client.get("/code").status_code == 200
    resent = client.post("/code/resend")
    assert location_path(resent) == "/code?resent=1"
    assert info_text(client.get("/code?resent=1").text) == "We stuurden u een nieuwe code."
    second_code = latest = code_in(next_sms(sms, 1))
    sent = 2
    while (resent := client.post("/code/resend")).status_code == 303:  # each resend texts one new code
        latest = code_in(next_sms(sms, sent))
        sent += 1
        assert sent <= 10, "resending is not limited"
    assert resent.status_code == 429 and "te veel codes" in error_text(resent.text)
    assert sent >= 3  # a few resends are allowed before the limit
    time.sleep(1.5)  # the outbox relay ticks every second: nothing more may arrive
    assert len(sms.messages()) == sent
    if second_code != latest:
        assert client.post("/code", {"code": second_code}).status_code == 401  # only the newest code works

    verified = client.post("/code", {"code": latest})
    assert verified.status_code == 303 and location_path(verified) == "/files"
    assert client.session_token
    assert client.get("/files").status_code == 200

    again = portal.client()
    refused = again.post("/login", credentials)
    assert refused.status_code == 401 and error_text(refused.text) == WRONG_LOGIN  # the initial password is gone


# --- 3. cookies ---------------------------------------------------------------------------------

def test_session_cookie_is_httponly_lax_renewed_per_login_and_ended_by_logout(portal):
    first = portal.full_login()
    header = set_cookie(first.verified, SESSION_COOKIE)
    assert header is not None, set_cookie_headers(first.verified)
    attributes = cookie_attributes(header)
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "secure" not in attributes  # plain http here (Secure and __Host- over https)

    token = first.session_token
    second = portal.login_with_password(first.login, OWN_PASSWORD)
    again = portal.login_with_password(first.login, OWN_PASSWORD, client=first.client)  # same browser
    assert len({token, second.session_token, again.session_token}) == 3

    old = second.session_token
    out = second.client.post("/logout")
    assert location_path(out) == "/login?logged_out=1"
    cleared = set_cookie(out, SESSION_COOKIE)
    assert cleared and ("max-age=0" in cookie_attributes(cleared) or "expires=thu, 01 jan 1970" in cleared.lower())
    replayed = requests.get(portal.base_url + "/files", cookies={SESSION_COOKIE: old}, allow_redirects=False,
                            timeout=30)
    assert replayed.status_code == 303 and location_path(replayed).startswith("/login")
    with pytest.raises(AuthenticationFailed):
        rpc(portal.config, "auth", "resolve_session", session_token=old)
    assert again.client.get("/files").status_code == 200  # another session lives on

    fresh = portal.client()  # the other cookies: the CSRF token's and the login attempt's
    csrf_cookie = set_cookie(fresh.get("/login"), "ep_csrf")
    assert csrf_cookie and {"httponly", "samesite=lax"} <= cookie_attributes(csrf_cookie)
    attempt_cookie = set_cookie(fresh.post("/login", {"login": first.login, "password": OWN_PASSWORD}), ATTEMPT_COOKIE)
    assert attempt_cookie and {"httponly", "samesite=lax"} <= cookie_attributes(attempt_cookie)


# --- 4. CSRF ------------------------------------------------------------------------------------

def test_posts_without_our_csrf_token_or_from_another_origin_are_refused(portal):
    user = portal.full_login()
    client, file_id = user.client, user.file_id
    selection = [("file", file_id)]

    attempts = [
        client.post("/files/delete/confirm", selection, csrf=False),
        client.post("/files/delete/confirm", selection, csrf="x" * 43),
        client.post("/files/delete/confirm", selection, headers={"Origin": "https://evil.example"}),
        client.post("/files/delete/confirm", selection, headers={"Referer": "https://evil.example/page"}),
        client.post("/files/download", selection, csrf=False),
        client.post("/logout", csrf=False),
        client.post("/logout", headers={"Origin": "https://evil.example"}),
    ]
    assert [a.status_code for a in attempts] == [403] * len(attempts)
    assert all(b"ean;afname" not in a.content for a in attempts)
    assert [row.id for row in client.rows()] == [file_id]  # not deleted, session not ended
    (listed,) = rpc(portal.config, "files", "list_files", community_id="zonnedelen-gent")
    assert listed["deleted_at"] is None and listed["first_downloaded_at"] is None

    stranger = portal.client()
    stranger.get("/login")
    seen = len(portal.sms_sink.messages())
    refused = stranger.post("/login", {"login": user.login, "password": OWN_PASSWORD}, csrf=False)
    assert refused.status_code == 403 and stranger.cookie(ATTEMPT_COOKIE) is None
    refused = stranger.post("/login", {"login": user.login, "password": OWN_PASSWORD},
                            headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and stranger.cookie(ATTEMPT_COOKIE) is None

    # the same request from our own origin, with the token, does go through
    deleted = client.post("/files/delete/confirm", selection, headers={"Origin": portal.base_url})
    assert location_path(deleted) == "/files?deleted=1"
    assert client.rows() == []
    time.sleep(1.2)
    assert len(portal.sms_sink.messages()) == seen  # the refused logins sent no code


def test_a_csrf_token_from_before_the_login_is_worthless_after_it(portal):
    portal.publish()
    credentials = portal.credentials()
    client = portal.client()
    assert client.get("/login").status_code == 200
    captured, csrf_cookie = client.csrf_token, client.cookie("ep_csrf")
    portal.login_with_initial_password(client, credentials)
    seen = len(portal.sms_sink.messages())
    client.post("/password/new", {"new_password": OWN_PASSWORD, "new_password_confirm": OWN_PASSWORD})
    _, verified = portal.enter_code(client, seen)
    assert verified.status_code == 303 and client.session_token
    renewed = set_cookie(verified, "ep_csrf")
    assert renewed and client.cookie("ep_csrf") != csrf_cookie  # a new cookie with the session

    assert client.post("/logout", csrf=captured).status_code == 403  # the token of the login page
    client.http.cookies.set("ep_csrf", csrf_cookie)  # even with the cookie it was made for
    assert client.post("/logout", csrf=captured).status_code == 403
    assert client.get("/files").status_code == 200  # still logged in
    page = client.files_page()  # a page of the session: its token works
    assert csrf_token_in(page.text) != captured
    assert location_path(client.post("/logout")) == "/login?logged_out=1"


# --- 5. security headers ------------------------------------------------------------------------

def assert_safe_page(response, what):
    assert response.headers["Content-Type"].startswith("text/html"), what
    csp = {part.split()[0]: part.split()[1:] for part in response.headers["Content-Security-Policy"].split(";")
           if part.strip()}
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], what
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"], what
    assert csp["script-src"] == ["'self'"], what
    assert csp.get("frame-ancestors") == ["'none'"], what
    assert response.headers["X-Frame-Options"] == "DENY", what
    assert response.headers["X-Content-Type-Options"] == "nosniff", what
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin", what
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin", "strict-origin",
                                                   "strict-origin-when-cross-origin"), what
    page = response.text
    for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script\s*>", page, re.S | re.I):
        assert re.search(r"\bsrc=\"/static/", attributes) and not body.strip(), (what, attributes, body)
    assert page.lower().count("<script") == len(re.findall(r"<script\b[^>]*\bsrc=", page, re.I)), what
    assert not re.search(r"\son[a-z]+\s*=", page, re.I), (what, "inline event handler")
    assert "javascript:" not in page.lower(), what


def test_every_page_has_the_security_headers_and_no_inline_script(portal):
    file_id = portal.publish()
    credentials = portal.credentials()
    client = portal.client()
    pages = {
        "login": client.get("/login"),
        "forgot": client.get("/forgot"),
        "forgot sent": client.post("/forgot", {"login": "niemand@example.be"}),
        "help": client.get("/help"),
        "reset": client.get("/reset"),
        "bad reset code": client.post("/reset", {"token": "not-a-token"}),
        "unknown page": client.get("/bestaat-niet"),
        "wrong method": client.http.put(portal.base_url + "/login", timeout=30),
        "csrf refused": client.post("/login", {"login": "x"}, csrf=False),
        "failed login": client.post("/login", {"login": "x", "password": "y"}),
    }
    portal.login_with_initial_password(client, credentials)
    pages["choose password"] = client.get("/password/new")
    seen = len(portal.sms_sink.messages())
    client.post("/password/new", {"new_password": OWN_PASSWORD, "new_password_confirm": OWN_PASSWORD})
    pages["code"] = client.get("/code")
    pages["wrong code"] = client.post("/code", {"code": "abcdef"})
    portal.enter_code(client, seen)
    pages["files"] = client.get("/files")
    pages["file link"] = client.get(f"/files/{file_id}")
    pages["confirm delete"] = client.post("/files/delete", [("file", file_id)])
    pages["nothing selected"] = client.post("/files/download")
    pages["unknown file"] = client.get("/files/00000000-0000-0000-0000-000000000000")
    pages["redirect"] = client.get("/")

    statuses = {what: response.status_code for what, response in pages.items()}
    assert statuses == {
        "login": 200, "forgot": 200, "forgot sent": 200, "help": 200, "reset": 200, "bad reset code": 410,
        "unknown page": 404,
        "wrong method": 405, "csrf refused": 403, "failed login": 401, "choose password": 200, "code": 200,
        "wrong code": 401, "files": 200, "file link": 200, "confirm delete": 200, "nothing selected": 400,
        "unknown file": 404, "redirect": 303,
    }
    for what, response in pages.items():
        if response.status_code == 303:
            assert response.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in response.headers
        else:
            assert_safe_page(response, what)
    assert '<script src="/static/portal.js" defer></script>' in pages["files"].text
    script = client.get("/static/portal.js")
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    assert script.headers["X-Content-Type-Options"] == "nosniff"


# --- 10. forgotten password ---------------------------------------------------------------------

def test_forgotten_password_mails_a_single_use_link_and_still_asks_the_code(portal, caplog):
    caplog.set_level(logging.DEBUG)
    user = portal.full_login()
    client = portal.client()
    client.get("/forgot")
    unknown = client.post("/forgot", {"login": "niemand@example.be"})
    known = client.post("/forgot", {"login": user.login.upper()})
    assert unknown.status_code == known.status_code == 200
    assert without_csrf(unknown.text) == without_csrf(known.text)
    assert info_text(known.text) == FORGOT_ANSWER

    mails = portal.mails_to(user.login, 2)
    time.sleep(1.2)
    assert [m["To"] for m in portal.mail_sink.messages()] == [user.login, user.login]  # none for the unknown login
    text = plain_text(mails[1]).splitlines()
    (link,) = [line for line in links_in(mails[1], portal.base_url) if "#" in line]
    assert re.fullmatch(re.escape(portal.base_url) + r"/reset#[A-Za-z0-9_-]{40,}", link), text
    token = urlsplit(link).fragment  # after "#": a browser never sends it, so no log or Referer has it
    assert f"{portal.base_url}/reset" in text and token in text  # without JavaScript: the page and the code

    form = client.get("/reset")
    assert form.status_code == 200 and 'id="reset-code"' in form.text and user.login not in form.text
    opened = client.post("/reset", {"token": token})  # what portal.js posts from the link's fragment
    assert opened.status_code == 200 and user.login in opened.text and 'name="new_password"' in opened.text
    pasted = client.post("/reset", {"token": f" {token[:20]}\n {token[20:]} "})  # a code pasted from the e-mail
    assert pasted.status_code == 200 and user.login in pasted.text

    def choose(password, confirmation=None):
        return client.post("/reset", {"token": token, "new_password": password,
                                      "new_password_confirm": confirmation or password})

    weak = choose("kort")
    assert weak.status_code == 400 and "minstens 12 tekens" in error_text(weak.text)
    common = choose("qwerty123456")
    assert common.status_code == 400 and "veelgebruikte" in error_text(common.text)

    seen = len(portal.sms_sink.messages())
    done = choose(NEW_PASSWORD)
    assert done.status_code == 303 and location_path(done) == "/code"
    assert client.session_token is None
    assert location_path(client.get("/files")).startswith("/login")
    assert user.client.get("/files").status_code == 200  # nothing changes before the code
    _, verified = portal.enter_code(client, seen)
    assert location_path(verified) == "/files" and client.session_token
    assert client.get("/files").status_code == 200
    assert location_path(user.client.get("/files")).startswith("/login")  # the new password ended the old session

    for used in (client.post("/reset", {"token": token}), choose("nog een ander wachtwoord")):
        assert used.status_code == 410 and "niet (meer) geldig" in used.text
    old = portal.client().post("/login", {"login": user.login, "password": OWN_PASSWORD})
    assert old.status_code == 401
    portal.login_with_password(user.login, NEW_PASSWORD)

    service_logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("urllib3"))
    assert "POST /reset " in service_logs  # the access log has the requests, and no token
    assert token not in service_logs


# --- 11. where a login leads ---------------------------------------------------------------------

EVIL_NEXT = [  # as an attacker's link carries them in the query string
    "/%09/evil.example", "/%0d/evil.example", "/%0a/evil.example", "%0d%0aSet-Cookie:%20x=1", "/%5Cevil.example",
    "%5C%5Cevil.example", "//evil.example", "%2F%2Fevil.example", "/%252F/evil.example", "%252F%252Fevil.example",
    "https://evil.example", "https%3A%2F%2Fevil.example", "javascript:alert(1)", "/files/..%2F..%2F%2Fevil.example",
]


def hidden_next(page) -> str:
    (value,) = set(re.findall(r'<input type="hidden" name="next" value="([^"]*)">', page.text))
    return value


def test_next_leads_only_to_the_portals_own_file_pages(portal):
    file_id = portal.publish()
    own = f"/files/{file_id}"
    credentials = portal.credentials()
    client = portal.client()
    for raw in EVIL_NEXT:
        assert hidden_next(client.get(f"/login?next={raw}")) == "/files", raw
    assert hidden_next(client.get(f"/login?next={quote_plus(own)}")) == own

    started = client.post("/login", {**credentials, "next": "/\t/evil.example"})
    assert location_path(started) == "/password/new"
    for raw in EVIL_NEXT:
        assert hidden_next(client.get(f"/password/new?next={raw}")) == "/files", raw
    assert hidden_next(client.get(f"/password/new?next={quote_plus(own)}")) == own
    seen = len(portal.sms_sink.messages())
    chosen = client.post("/password/new", {"new_password": OWN_PASSWORD, "new_password_confirm": OWN_PASSWORD,
                                           "next": "//evil.example"})
    assert location_path(chosen) == "/code"
    for raw in EVIL_NEXT:
        assert hidden_next(client.get(f"/code?next={raw}")) == "/files", raw
    assert hidden_next(client.get(f"/code?next={quote_plus(own)}&x=1")) == own
    assert location_path(client.post("/code/resend", {"next": "/\\evil.example"})) == "/code?resent=1"
    _, verified = portal.enter_code(client, seen + 1, next="/\r\nLocation: //evil.example")
    assert verified.status_code == 303 and verified.headers["Location"] == "/files"

    for raw in EVIL_NEXT:  # logged in, /login sends the browser straight on
        answer = client.get(f"/login?next={raw}")
        assert answer.status_code == 303 and answer.headers["Location"] == "/files", (raw, answer.status_code)
    assert client.get(f"/login?next={quote_plus(own)}").headers["Location"] == own
    assert client.get("/login?next=%2Ffiles%3Fsort%3Dname%26dir%3Ddesc").headers["Location"] == \
        "/files?sort=name&dir=desc"


# --- 12. contact changes ------------------------------------------------------------------------

def test_changing_gsm_or_email_ends_the_session(portal):
    user = portal.full_login()
    assert user.client.get("/files").status_code == 200
    rpc(portal.config, "auth", "update_community", community_id="zonnedelen-gent", gsm="0470 99 88 77")
    ended = user.client.get("/files")
    assert ended.status_code == 303 and location_path(ended).startswith("/login")

    again = portal.login_with_password(user.login, OWN_PASSWORD)
    assert portal.sms_sink.messages()[-1]["to"] == "+32470998877"
    assert again.client.get("/files").status_code == 200
    rpc(portal.config, "auth", "update_community", community_id="zonnedelen-gent", email="nieuw@example.be")
    assert location_path(again.client.get("/files")).startswith("/login")
    assert portal.client().post("/login", {"login": user.login, "password": OWN_PASSWORD}).status_code == 401
    portal.login_with_password("nieuw@example.be", OWN_PASSWORD)


# --- 13. secrets stay out of the logs -----------------------------------------------------------

def test_no_password_code_or_token_in_the_service_logs(portal, caplog):
    caplog.set_level(logging.DEBUG)
    user = portal.full_login()
    session_token = user.session_token
    user.client.get("/files")
    user.client.post("/code", {"code": "999999"})  # a failed step logs too
    user.client.post("/login", {"login": user.login, "password": "verkeerd wachtwoord 1"})
    user.client.post("/logout")
    secrets = {
        "initial password": user.initial_password,
        "own password": user.password,
        "wrong password": "verkeerd wachtwoord 1",
        "SMS code": user.codes[0],
        "session token": session_token,
        "attempt token": user.attempt_token,
    }
    assert all(secrets.values()), secrets
    assert "POST /login" in caplog.text or "/login" in caplog.text  # the capture did see the services
    logged = caplog.text
    for what, secret in secrets.items():
        for form in {secret, quote_plus(secret)}:
            assert form not in logged, f"the {what} appears in the log"


# --- 14. the text's own words -------------------------------------------------------------------

def test_the_code_page_says_the_texts_sentence_and_later_mails_know_whether_a_password_was_chosen(portal):
    portal.publish()
    credentials = portal.credentials()
    portal.publish(filename="tweede.csv")  # the manager has not logged in yet
    before = " ".join(plain_text(portal.mails_to(credentials["login"], 2)[1]).split())
    assert "uw eigen wachtwoord" not in before
    assert "het initiële wachtwoord uit onze eerste e-mail" in before and "Wachtwoord vergeten?" in before

    client = portal.client()
    client.get("/login")
    portal.login_with_initial_password(client, credentials)
    seen = len(portal.sms_sink.messages())
    chosen = client.post("/password/new", {"new_password": OWN_PASSWORD, "new_password_confirm": OWN_PASSWORD})
    assert location_path(chosen) == "/code"
    page = client.get("/code").text
    assert ('<p class="lead">Vul hieronder de actuele verificatiecode in zoals u deze heeft ontvangen via sms.</p>'
            in page)
    assert '<p class="sent-to">Verstuurd naar +32 ••• •• 56</p>' in page  # the masked number, on its own line
    _, verified = portal.enter_code(client, seen)
    assert location_path(verified) == "/files"

    portal.publish(filename="derde.csv")  # an own password now (it holds once the code is verified)
    after = " ".join(plain_text(portal.mails_to(credentials["login"], 3)[2]).split())
    assert "Meld u aan met uw login en uw eigen wachtwoord." in after and "initiële" not in after
