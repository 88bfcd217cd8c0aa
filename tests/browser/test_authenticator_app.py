"""A manager adds an authenticator app in a real Chromium (QR code drawn by the server, the
key read from the page's text beside it), logs out, and logs in again with a code from the
app (computed here with pyotp) instead of an SMS."""
import time
from pathlib import Path

import pyotp

from tests.browser.test_manager_journey import sms_codes, system  # noqa: F401  (system is a fixture)
from tests.support.launch import cli
from tests.support.sinks import MailSink, credentials_in, wait_until

OWN_PASSWORD = "de zon schijnt op het dak van de school"


def fresh_code(secret: str, used: set) -> str:
    """The app's current code; waits for the next 30-second step if this one was used already."""
    while (code := pyotp.TOTP(secret).now()) in used:
        time.sleep(0.5)
    used.add(code)
    return code


def test_enrol_an_app_log_out_and_log_in_with_its_code(system, browser, screenshot, tmp_path):
    env = system
    assert cli(env, "community", "add", "zonnedelen-gent", "--name", "Zonnedelen Gent",
               "--email", "beheer@example.be", "--gsm", "0470 12 34 56").returncode == 0
    document = tmp_path / "mededeling.csv"
    document.write_text("ean;afname\n541448;12,5\n")
    assert cli(env, "publish", "zonnedelen-gent", str(document)).returncode == 0
    (mail,) = MailSink.messages_in(Path(env["DATA_DIR"]) / "mail", wait_for=1)
    credentials = credentials_in(mail)

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = []  # script errors and CSP violations (an inline image the CSP refused would show here)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error"
            and not message.text.startswith("Failed to load resource") and errors.append(message.text))

    # 1. The first login: initial password, own password, SMS code.
    page.goto(env["PUBLIC_BASE_URL"] + "/login")
    page.get_by_label("Login").fill(credentials["login"])
    page.get_by_label("Wachtwoord").fill(credentials["password"])
    page.get_by_role("button", name="Login").click()
    page.get_by_label("Nieuw wachtwoord").fill(OWN_PASSWORD)
    page.get_by_label("Herhaal het nieuwe wachtwoord").fill(OWN_PASSWORD)
    page.get_by_role("button", name="Wachtwoord opslaan").click()
    page.get_by_role("heading", name="Sms-verificatiecode").wait_for()
    wait_until(lambda: len(sms_codes(env)) == 1, message="the SMS with the code")
    page.get_by_label("Verificatiecode").fill(sms_codes(env)[-1])
    page.get_by_role("button", name="Login").click()
    page.get_by_role("heading", name="Mijn ontvangen bestanden").wait_for()

    # 2. Beveiliging: add the app; the QR code is an image, the key stands beside it as text.
    page.get_by_role("link", name="Beveiliging").click()
    page.get_by_role("heading", name="Beveiliging", exact=True).wait_for()
    screenshot(page, "20-security")
    page.get_by_role("button", name="Authenticator-app toevoegen").click()
    page.get_by_role("heading", name="Authenticator-app toevoegen").wait_for()
    qr = page.get_by_role("img", name="QR-code om Fluvius documenten aan uw authenticator-app toe te voegen")
    assert qr.is_visible() and qr.evaluate("image => image.complete && image.naturalWidth > 100")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    screenshot(page, "21-add-app")
    used = set()
    page.get_by_label("Code uit de app").fill(fresh_code(secret, used))
    page.get_by_role("button", name="App bevestigen").click()
    page.get_by_role("heading", name="Uw authenticator-app is ingesteld").wait_for()
    assert page.locator(".recovery-codes li").count() == 10
    screenshot(page, "22-recovery-codes")
    page.get_by_role("link", name="Ik heb mijn herstelcodes bewaard").click()
    assert "ongebruikte herstelcodes" in page.content()

    # 3. Log out, log in again: the code comes from the app, no SMS is sent.
    page.get_by_role("button", name="Afmelden").click()
    page.get_by_role("heading", name="Aanmelden").wait_for()
    page.get_by_label("Login").fill(credentials["login"])
    page.get_by_label("Wachtwoord").fill(OWN_PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.get_by_role("heading", name="Verificatiecode").wait_for()
    assert page.get_by_role("button", name="Stuur mij een sms-code").is_visible()
    screenshot(page, "23-code-by-app")
    page.get_by_label("Verificatiecode").fill(fresh_code(secret, used))
    page.get_by_role("button", name="Login").click()
    page.get_by_role("heading", name="Mijn ontvangen bestanden").wait_for()
    assert len(sms_codes(env)) == 1  # only the first login's
    assert errors == []
