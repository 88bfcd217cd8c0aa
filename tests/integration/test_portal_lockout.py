"""Guessing and lockout through the real portal (gateway, auth, notify, files; real broker,
databases, mail and SMS sinks): an attacker who knows only the manager's e-mail address
locks out unknown devices, while the manager's own browser — holding the trusted-device
cookie from an earlier login — still logs in; the manager gets an e-mail about the lock.
Then the operator lifts it with ``energiepost community unlock``."""
import pytest

from cli.main import main
from cli.runtime import NOT_FOUND
from services.auth import lockout
from services.auth.login import WRONG_LOGIN
from tests.support.portal import (  # noqa: F401
    ALL, OWN_PASSWORD, PortalSystem, error_text, location_path, set_cookie,
)
from tests.support.sinks import html, links_in, plain_text, wait_until
from tests.support.system import add_community

DEVICE_COOKIE = "ep_device"  # over plain http
HARD_LIMIT = 4  # small, so that the test needs no back-off waits (LOGIN_FREE_FAILURES the same)
MANAGER_IP, ATTACKER_IP = "198.51.100.7", "203.0.113.66"
LOGIN = "beheer@example.be"


@pytest.fixture
def portal(runner_factory, service_config, mail_sink, sms_sink):
    """The portal behind a trusted proxy (127.0.0.1 sends X-Forwarded-For), with a small hard limit."""
    config = {**service_config, "SMS_GATEWAY_URL": sms_sink.url, "TRUSTED_PROXIES": "127.0.0.1/32",
              "LOGIN_FREE_FAILURES": HARD_LIMIT, "LOGIN_HARD_LIMIT": HARD_LIMIT}
    runner_factory(config, *ALL).start()
    add_community(config)
    return PortalSystem(config, mail_sink, sms_sink)


def browser(portal, address):
    client = portal.client()
    client.http.headers["X-Forwarded-For"] = address
    return client


def lock_mails(portal):
    return [m for m in portal.mail_sink.messages() if "geblokkeerd" in m["Subject"]]


def test_an_attacker_without_the_device_cookie_is_locked_out_while_the_managers_browser_logs_in(portal):
    manager = browser(portal, MANAGER_IP)
    first = portal.full_login(manager)
    cookie = set_cookie(first.verified, DEVICE_COOKIE)
    assert cookie, "no trusted-device cookie after the code"
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/", f"max-age={180 * 24 * 3600}"} <= attributes
    assert "secure" not in attributes  # plain http here; Secure (and __Host-) over https
    manager.post("/logout")
    assert manager.cookie(DEVICE_COOKIE)  # logging out keeps the device trusted

    attacker = browser(portal, ATTACKER_IP)
    attacker.get("/login")
    for _ in range(HARD_LIMIT):
        guess = attacker.post("/login", {"login": LOGIN, "password": "misschien-is-het-dit-1"})
        assert guess.status_code == 401 and error_text(guess.text) == WRONG_LOGIN
    locked = attacker.post("/login", {"login": LOGIN, "password": OWN_PASSWORD})  # even the right password
    assert locked.status_code == 429
    assert error_text(locked.text) == lockout.HARD_LOCKED.format(operator="Fluvius") + lockout.KNOWN_DEVICE_STILL_WORKS

    new_browser = browser(portal, MANAGER_IP)  # the manager on a browser never used before: locked too
    new_browser.get("/login")
    assert new_browser.post("/login", {"login": LOGIN, "password": OWN_PASSWORD}).status_code == 429

    again = portal.login_with_password(LOGIN, OWN_PASSWORD, client=manager)  # the manager's own browser
    assert again.client.files_page().status_code == 200
    renewed = set_cookie(again.verified, DEVICE_COOKIE)
    assert renewed and renewed.split(";")[0] != cookie.split(";")[0]  # a new token at every login

    (mail,) = wait_until(lambda: lock_mails(portal), 15, message="the lock e-mail")
    assert mail["To"] == LOGIN
    text = plain_text(mail)
    assert "vanaf toestellen waarop u nog niet eerder aanmeldde" in text
    assert links_in(mail, portal.base_url) == [f"{portal.base_url}/forgot"]
    for secret in (OWN_PASSWORD, first.initial_password, *first.codes, *again.codes):
        assert secret not in text and secret not in html(mail)


def test_the_operator_unlocks_with_the_cli(portal, monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URI", portal.config["AMQP_URI"])
    first = portal.full_login(browser(portal, MANAGER_IP))
    attacker = browser(portal, ATTACKER_IP)
    for _ in range(HARD_LIMIT):
        attacker.post("/login", {"login": LOGIN, "password": "misschien-is-het-dit-1"})
    wait_until(lambda: lock_mails(portal), 15, message="the lock e-mail")
    assert attacker.post("/login", {"login": LOGIN, "password": first.password}).status_code == 429

    assert main(["community", "unlock", "zonnedelen-gent"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "community zonnedelen-gent: logins of beheer@example.be unlocked (1 lock lifted, failures reset)"
    unlocked = attacker.post("/login", {"login": LOGIN, "password": first.password})
    assert unlocked.status_code == 303 and location_path(unlocked).startswith("/code")

    assert main(["community", "unlock", "zonnedelen-gent"]) == 0
    assert "was not locked" in capsys.readouterr().out
    assert main(["community", "unlock", "bestaat-niet"]) == NOT_FOUND
    err = capsys.readouterr().err
    assert "unknown community 'bestaat-niet'" in err and len(err.strip().splitlines()) == 1
