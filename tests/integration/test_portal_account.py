"""The security page of the portal ("Beveiliging"), through the real services, broker, databases
and sinks: where the manager is logged in and ending the other sessions, changing the
password (current password, then the code), and an authenticator app as second factor
(QR code and its text, first code, recovery codes, login with the app, removal)."""
import html
import inspect
import re
import time

import pyotp
import pytest

from services.auth.account import PASSWORD_WRONG
from services.auth.login import APP_CODE_WRONG, WRONG_LOGIN
from services.gateway.service import GatewayService
from tests.integration.test_portal_login import assert_safe_page
from tests.support.portal import (  # noqa: F401  (portal is a fixture)
    ATTEMPT_COOKIE, OWN_PASSWORD, error_text, info_text, location_path, portal,
)

NEW_PASSWORD = "groene zonnepanelen op het dak 7"
_SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7 ]+)</code>')
_RECOVERY = re.compile(r"<li><code>([a-z2-9-]{19})</code></li>")


def session_rows(page: str) -> list[str]:
    """The address column of "Waar bent u aangemeld?", this device marked with a star."""
    rows = re.findall(r"<tr( class=\"selected\"[^>]*)?>\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>", page)
    return [address + ("*" if current else "") for current, address in rows]


def fresh_code(secret: str, used: set) -> str:
    """The app's current code, waiting for the next time step if this one was used already."""
    totp = pyotp.TOTP(secret)
    while (code := totp.now()) in used:
        time.sleep(0.5)
    used.add(code)
    return code


def add_app(client) -> tuple[str, list[str]]:
    """Add an authenticator app on the security page: its secret (from the page's text) and
    the recovery codes shown once."""
    started = client.post("/account/app")
    assert location_path(started) == "/account/app"
    page = client.get("/account/app")
    assert page.status_code == 200
    assert re.search(r'<img class="qr" src="data:image/svg\+xml;[^"]+" alt="QR-code[^"]*"', page.text)
    secret = _SECRET.search(page.text).group(1).replace(" ", "")
    confirmed = client.post("/account/app/confirm", {"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200, error_text(confirmed.text)
    codes = _RECOVERY.findall(confirmed.text)
    assert len(codes) == 10
    return secret, codes


def login_at_code_page(portal, login, password):
    client = portal.client()
    client.get("/login")
    started = client.post("/login", {"login": login, "password": password})
    assert location_path(started) == "/code", error_text(started.text)
    return client


# --- sessions --------------------------------------------------------------------------------

def test_the_security_page_lists_the_sessions_and_ends_the_others(portal):
    first = portal.full_login()
    second = portal.login_with_password(first.login, OWN_PASSWORD)
    page = second.client.get("/account")
    assert page.status_code == 200 and "<h1>Beveiliging</h1>" in page.text
    assert session_rows(page.text) == ["127.0.0.1*", "127.0.0.1"]
    assert 'href="/account"' in second.client.get("/files").text  # reachable from every page

    ended = second.client.post("/account/sessions/end")
    assert location_path(ended) == "/account?done=sessions"
    assert info_text(second.client.get("/account?done=sessions").text) == "U bent afgemeld op uw andere toestellen."
    assert location_path(first.client.get("/files")).startswith("/login")
    assert second.client.get("/files").status_code == 200
    assert session_rows(second.client.get("/account").text) == ["127.0.0.1*"]

    refused = second.client.post("/account/sessions/end", {"session": "00000000-0000-0000-0000-000000000000"})
    assert refused.status_code == 404
    assert location_path(portal.client().get("/account")) == "/login?next=%2Faccount"


# --- changing the password -------------------------------------------------------------------

def test_changing_the_password_needs_the_current_one_and_the_code(portal):
    user = portal.full_login()
    other = portal.login_with_password(user.login, OWN_PASSWORD)
    client = user.client
    assert client.get("/account/password").status_code == 200

    wrong = client.post("/account/password", {"password": "niet mijn wachtwoord", "new_password": NEW_PASSWORD,
                                              "new_password_confirm": NEW_PASSWORD})
    assert wrong.status_code == 401 and error_text(wrong.text) == PASSWORD_WRONG
    weak = client.post("/account/password", {"password": OWN_PASSWORD, "new_password": "Fluvius2026!!",
                                             "new_password_confirm": "Fluvius2026!!"})
    assert weak.status_code == 400 and "Fluvius" in error_text(weak.text)

    seen = len(portal.sms_sink.messages())
    started = client.post("/account/password", {"password": OWN_PASSWORD, "new_password": NEW_PASSWORD,
                                                "new_password_confirm": NEW_PASSWORD})
    assert location_path(started) == "/code"
    assert "bevestigt u uw nieuwe wachtwoord" in client.get("/code").text
    assert portal.client().post("/login", {"login": user.login, "password": NEW_PASSWORD}).status_code == 401
    old_session = client.session_token
    _, verified = portal.enter_code(client, seen)
    assert location_path(verified) == "/account?done=password"
    assert client.session_token != old_session  # a new session after the change
    assert "Uw wachtwoord is gewijzigd" in info_text(client.get("/account?done=password").text)
    assert location_path(other.client.get("/files")).startswith("/login")  # the other device is logged out

    refused = portal.client().post("/login", {"login": user.login, "password": OWN_PASSWORD})
    assert refused.status_code == 401 and error_text(refused.text) == WRONG_LOGIN
    portal.login_with_password(user.login, NEW_PASSWORD)


# --- the authenticator app -------------------------------------------------------------------

def test_an_authenticator_app_replaces_the_sms_at_login(portal):
    user = portal.full_login()
    secret, recovery_codes = add_app(user.client)
    used = {pyotp.TOTP(secret).now()}
    account = user.client.get("/account").text
    assert "ongebruikte herstelcode" in account and "App verwijderen" in account
    assert location_path(user.client.get("/account/app")) == "/account"  # the secret is not shown again
    user.client.post("/logout")

    sent = len(portal.sms_sink.messages())
    client = login_at_code_page(portal, user.login, OWN_PASSWORD)
    page = client.get("/code").text
    assert "authenticator-app" in page and "Stuur mij een sms-code" in page
    code = fresh_code(secret, used)
    verified = client.post("/code", {"code": code})
    assert location_path(verified) == "/files" and client.get("/files").status_code == 200
    time.sleep(1.2)  # the outbox relay ticks every second
    assert len(portal.sms_sink.messages()) == sent  # no SMS was sent

    replay = login_at_code_page(portal, user.login, OWN_PASSWORD)
    refused = replay.post("/code", {"code": code})
    assert refused.status_code == 401 and error_text(refused.text).startswith(APP_CODE_WRONG)
    by_recovery = replay.post("/code", {"code": recovery_codes[0]})
    assert location_path(by_recovery) == "/files"
    again = login_at_code_page(portal, user.login, OWN_PASSWORD)
    assert again.post("/code", {"code": recovery_codes[0]}).status_code == 401  # each works once

    sms = again.post("/code/resend")  # "Stuur mij een sms-code"
    assert location_path(sms) == "/code?resent=1"
    assert "Sms-verificatiecode" in again.get("/code").text
    assert location_path(again.post("/code/app")) == "/code"  # and back to the app
    assert "Gebruik uw authenticator-app" not in again.get("/code").text
    assert location_path(again.post("/code", {"code": fresh_code(secret, used)})) == "/files"

    again.get("/account")  # the page with the form (the login renewed the CSRF token)
    removed = again.post("/account/app/remove", {"code": "000000"})
    assert removed.status_code == 401
    removed = again.post("/account/app/remove", {"code": fresh_code(secret, used)})
    assert location_path(removed) == "/account?done=app-removed"
    assert "Authenticator-app toevoegen" in again.get("/account").text
    portal.login_with_password(user.login, OWN_PASSWORD)  # the SMS again


def test_a_wrong_first_code_does_not_add_the_app(portal):
    user = portal.full_login()
    user.client.post("/account/app")
    page = user.client.get("/account/app").text
    secret = _SECRET.search(page).group(1).replace(" ", "")
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 500_000) % 10**6:06d}"
    refused = user.client.post("/account/app/confirm", {"code": wrong})
    assert refused.status_code == 401 and "niet juist" in error_text(refused.text)
    assert _SECRET.search(refused.text).group(1).replace(" ", "") == secret  # the same QR code, to try again
    assert "Authenticator-app toevoegen" in user.client.get("/account").text


def _form_paths():
    """Every path of the portal that takes a POST, as the gateway declares them."""
    return sorted(entrypoint.url for _, handler in inspect.getmembers(GatewayService, inspect.isfunction)
                  for entrypoint in getattr(handler, "nameko_entrypoints", ())
                  if getattr(entrypoint, "page", False) and entrypoint.method == "POST")


def test_every_form_refuses_a_post_without_our_csrf_token(portal):
    user = portal.full_login()
    paths = _form_paths()
    assert {"/login", "/files/delete/confirm", "/account/app/remove", "/reset"} <= set(paths)
    answers = {path: user.client.post(path, {"code": "123456", "file": user.file_id}, csrf=False).status_code
               for path in paths}
    assert answers == {path: 403 for path in paths}
    assert user.client.get("/files").status_code == 200
    assert [row.id for row in user.client.rows()] == [user.file_id]


def test_the_new_pages_have_the_security_headers_and_no_inline_script(portal):
    user = portal.full_login()
    client = user.client
    pages = {"account": client.get("/account"), "change password": client.get("/account/password")}
    client.post("/account/app")
    pages["add app"] = client.get("/account/app")
    secret = _SECRET.search(pages["add app"].text).group(1).replace(" ", "")
    pages["recovery codes"] = client.post("/account/app/confirm", {"code": pyotp.TOTP(secret).now()})
    client.post("/logout")
    code_client = login_at_code_page(portal, user.login, OWN_PASSWORD)
    pages["code by app"] = code_client.get("/code")
    for what, response in pages.items():
        assert response.status_code == 200, (what, response.status_code)
        assert_safe_page(response, what)
    assert html.unescape(pages["recovery codes"].text).count("<li><code>") == 10
    assert code_client.cookie(ATTEMPT_COOKIE)
