"""A manager's whole journey in a real Chromium: from the e-mail in the mail sink to a
verified download and a deletion, with a screenshot of every page."""
import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.support.launch import cli, fresh_vhost, running, system_environment
from tests.support.sinks import MailSink, credentials_in, links_in, wait_until

CONTENT = "ean;afname_kwh;injectie_kwh\n541448000000000001;12,5;-3,2\n541448000000000002;7,0;-1,1\n" * 50


@pytest.fixture
def system(tmp_path):
    with fresh_vhost() as amqp_uri:
        env = system_environment(amqp_uri, tmp_path / "var")
        with running(env):
            yield env


def sms_codes(env) -> list[str]:
    path = Path(env["DATA_DIR"]) / "sms.jsonl"
    if not path.exists():
        return []
    return [re.search(r"\b(\d{6})\b", json.loads(line)["body"]).group(1) for line in path.read_text().splitlines()]


def test_from_the_email_to_a_verified_download_and_a_deletion(system, browser, screenshot, tmp_path):
    env = system
    assert cli(env, "community", "add", "zonnedelen-gent", "--name", "Zonnedelen Gent",
               "--email", "beheer@example.be", "--gsm", "0470 12 34 56").returncode == 0
    document = tmp_path / "correcties-2026-10.csv"
    document.write_text(CONTENT)
    published = cli(env, "publish", "zonnedelen-gent", str(document), "--kind", "periodic")
    assert published.returncode == 0, published.stderr
    file_id = published.stdout.strip().splitlines()[-1]

    (mail,) = MailSink.messages_in(Path(env["DATA_DIR"]) / "mail", wait_for=1)
    (link,) = links_in(mail, env["PUBLIC_BASE_URL"])
    credentials = credentials_in(mail)

    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors = []  # script errors and CSP violations; HTTP statuses (401, 410) are meant
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error"
            and not message.text.startswith("Failed to load resource") and errors.append(message.text))

    # 1. The link in the e-mail asks for a login.
    page.goto(link)
    assert page.get_by_role("heading", name="Aanmelden").is_visible()
    assert page.get_by_role("link", name="Wachtwoord vergeten?").is_visible()
    screenshot(page, "01-login")
    page.get_by_label("Login").fill(credentials["login"])
    page.get_by_label("Wachtwoord").fill("niet het juiste wachtwoord")
    page.get_by_role("button", name="Login").click()
    assert page.get_by_role("alert").inner_text() == "Onbekende login of verkeerd wachtwoord."
    screenshot(page, "02-login-wrong-password")
    page.get_by_label("Wachtwoord").fill(credentials["password"])
    page.get_by_role("button", name="Login").click()

    # 2. The initial password: choose an own one first (the reason for a refusal is shown).
    page.get_by_role("heading", name="Kies uw eigen wachtwoord").wait_for()
    assert sms_codes(env) == []  # no code before an own password is chosen
    page.get_by_label("Nieuw wachtwoord").fill("zonnedelengent2026")
    page.get_by_label("Herhaal het nieuwe wachtwoord").fill("zonnedelengent2026")
    page.get_by_role("button", name="Wachtwoord opslaan").click()
    assert "naam van uw energiegemeenschap" in page.get_by_role("alert").inner_text()
    screenshot(page, "03-own-password-refused")
    page.get_by_label("Nieuw wachtwoord").fill("de zon schijnt op het dak van de school")
    page.get_by_label("Herhaal het nieuwe wachtwoord").fill("de zon schijnt op het dak van de school")
    page.get_by_role("button", name="Wachtwoord opslaan").click()

    # 3. The SMS code; reloading the page sends no new SMS.
    page.get_by_role("heading", name="Sms-verificatiecode").wait_for()
    wait_until(lambda: len(sms_codes(env)) == 1, message="the SMS with the code")
    page.reload()
    assert len(sms_codes(env)) == 1
    screenshot(page, "04-sms-code")
    page.get_by_label("Verificatiecode").fill(sms_codes(env)[-1])
    page.get_by_role("button", name="Login").click()

    # 4. Mijn ontvangen bestanden, with the linked file selected and highlighted.
    page.get_by_role("heading", name="Mijn ontvangen bestanden").wait_for()
    row = page.locator("tr.selected")
    assert row.locator('input[name="file"]').is_checked()
    assert "correcties-2026-10.csv" in row.inner_text() and "Nieuw" in row.inner_text()
    assert "Aantal bestanden: 1" in page.locator(".totals").inner_text().replace("\n", " ")
    assert page.get_by_role("heading", name="Direct bestanden", level=1).is_visible()
    assert page.get_by_role("columnheader", name="Beschikbaar tot en met").is_visible()  # wide: its own column
    assert page.get_by_role("columnheader", name="Gedeeld door").is_visible()
    assert not row.get_by_text("Gedeeld door Fluvius").is_visible()  # not twice on a wide screen
    assert row.get_by_text("periodiek bestand", exact=True).is_visible()
    screenshot(page, "05-files")

    # 5. DOWNLOAD: the same bytes as published.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="DOWNLOAD").click()
    download = download_info.value
    assert download.suggested_filename == "correcties-2026-10.csv"
    saved = tmp_path / "downloaded.csv"
    download.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(document.read_bytes()).hexdigest()
    page.reload()
    assert page.locator(".badge").count() == 0  # no longer new

    # 6. VERWIJDEREN, after confirmation; the e-mail link then says the file is gone.
    page.get_by_label("Alles selecteren").check()
    page.get_by_role("button", name="VERWIJDEREN").click()
    page.get_by_role("heading", name="Bestanden definitief verwijderen?").wait_for()
    screenshot(page, "06-confirm-delete")
    page.get_by_role("button", name="Ja, verwijderen").click()
    page.get_by_text("1 bestand verwijderd.").wait_for()
    assert "Er staan geen bestanden voor u klaar." in page.content()
    screenshot(page, "07-after-delete")
    response = page.goto(link)
    assert response.status == 410
    assert page.get_by_role("heading", name="Dit bestand is niet meer beschikbaar").is_visible()
    screenshot(page, "08-gone")

    # 7. Logout ends the session.
    page.goto(env["PUBLIC_BASE_URL"] + "/files")
    page.get_by_role("button", name="Afmelden").click()
    page.get_by_role("heading", name="Aanmelden").wait_for()
    page.goto(env["PUBLIC_BASE_URL"] + "/files")
    assert "/login" in page.url
    assert errors == []
    context.close()
    assert file_id in link


LONG_NAME = "mededeling-netbeheerder-2026_oktober-correcties.csv"
# The characters before each line break inside an element: where the browser wrapped its text.
LINE_BREAKS = """(element) => {
  const breaks = [], range = document.createRange();
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  let top = null, previous = null;
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (let i = 0; i < node.length; i++) {
      range.setStart(node, i); range.setEnd(node, i + 1);
      const rect = range.getBoundingClientRect();
      if (!rect.width) { continue; }
      if (top !== null && rect.top > top + 2) { breaks.push(previous); }
      top = rect.top; previous = node.data[i];
    }
  }
  return breaks;
}"""


def test_the_list_reads_well_on_a_phone(system, browser, screenshot, tmp_path):
    env = system
    assert cli(env, "community", "add", "zonnedelen-gent", "--name", "Zonnedelen Gent",
               "--email", "beheer@example.be", "--gsm", "0470 12 34 56").returncode == 0
    for name, kind in (("correcties-2026-10.csv", "periodic"), (LONG_NAME, "adhoc")):
        (tmp_path / name).write_text(CONTENT)
        assert cli(env, "publish", "zonnedelen-gent", str(tmp_path / name), "--kind", kind).returncode == 0
    mails = MailSink.messages_in(Path(env["DATA_DIR"]) / "mail", wait_for=2)
    credentials = credentials_in(mails[0])
    last_day = re.search(r"beschikbaar tot en met (\S+)\.", mails[1].get_body(("plain",)).get_content()).group(1)

    page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    page.goto(env["PUBLIC_BASE_URL"] + "/login")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "09-login-phone")
    order = []
    for _ in range(12):  # the keyboard reaches every control, in reading order
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    order = order[order.index("Naar de inhoud"):]  # from the top of the page (the skip link)
    assert order.index("login") < order.index("password") < order.index("Wachtwoord vergeten?") < order.index("Login")

    page.get_by_label("Login").fill(credentials["login"])
    page.get_by_label("Wachtwoord").fill(credentials["password"])
    page.get_by_role("button", name="Login").click()
    page.get_by_label("Nieuw wachtwoord").fill("de zon schijnt op het dak van de school")
    page.get_by_label("Herhaal het nieuwe wachtwoord").fill("de zon schijnt op het dak van de school")
    page.get_by_role("button", name="Wachtwoord opslaan").click()
    page.get_by_role("heading", name="Sms-verificatiecode").wait_for()
    assert page.get_by_text("Vul hieronder de actuele verificatiecode in zoals u deze heeft ontvangen via sms.",
                            exact=True).is_visible()
    assert page.get_by_text("Verstuurd naar +32 ••• •• 56", exact=True).is_visible()
    wait_until(lambda: len(sms_codes(env)) == 1, message="the SMS with the code")
    screenshot(page, "10-sms-code-phone")
    page.get_by_label("Verificatiecode").fill(sms_codes(env)[-1])
    page.get_by_role("button", name="Login").click()

    # "Direct bestanden" / "Mijn ontvangen bestanden", by name, every fact of every file on screen.
    page.get_by_role("heading", name="Mijn ontvangen bestanden").wait_for()
    assert page.get_by_role("heading", name="Direct bestanden", level=1).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator(".table-scroll").evaluate("e => e.scrollWidth <= e.clientWidth")  # nothing off to the side
    sorted_by = page.locator('thead a[aria-current="true"]')
    assert sorted_by.is_visible() and sorted_by.inner_text().startswith("Naam ▲")  # the sort mark on Naam
    rows = page.locator("table.files tbody tr")
    assert [rows.nth(i).locator("label").inner_text() for i in range(2)] == ["correcties-2026-10.csv", LONG_NAME]
    for i, kind in enumerate(("periodiek bestand", "ad-hoc communicatie")):
        row = rows.nth(i)
        for fact in (kind, "Gedeeld door Fluvius", f"Beschikbaar tot en met {last_day}"):
            assert row.get_by_text(fact, exact=True).is_visible(), fact
        assert row.locator("td.num").is_visible() and row.locator("td.date").first.is_visible()
    breaks = rows.nth(1).locator("label").evaluate(LINE_BREAKS)
    assert breaks and set(breaks) <= {"-", "_", "."}, breaks  # wrapped, and only after - _ .
    screenshot(page, "11-files-phone")


def test_the_reset_link_keeps_its_token_after_the_hash_and_the_page_posts_it(system, browser, screenshot, tmp_path):
    env = system
    assert cli(env, "community", "add", "zonnedelen-gent", "--name", "Zonnedelen Gent",
               "--email", "beheer@example.be", "--gsm", "0470 12 34 56").returncode == 0
    page = browser.new_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    base = env["PUBLIC_BASE_URL"]

    page.goto(base + "/login")
    page.get_by_role("link", name="Wachtwoord vergeten?").click()
    page.get_by_label("Login").fill("beheer@example.be")
    page.get_by_role("button", name="Link aanvragen").click()
    page.get_by_role("status").wait_for()
    (mail,) = MailSink.messages_in(Path(env["DATA_DIR"]) / "mail", wait_for=1)
    (link,) = [line for line in links_in(mail, base) if "#" in line]
    assert link.startswith(base + "/reset#")

    page.goto(link)  # portal.js posts the token from the fragment, and drops it from the address
    page.get_by_text("Voor de login beheer@example.be.").wait_for()
    assert page.url == base + "/reset"
    screenshot(page, "12-reset-from-link")
    page.get_by_label("Nieuw wachtwoord").fill("de zon schijnt op het dak van de school")
    page.get_by_label("Herhaal het nieuwe wachtwoord").fill("de zon schijnt op het dak van de school")
    page.get_by_role("button", name="Wachtwoord opslaan").click()
    page.get_by_role("heading", name="Sms-verificatiecode").wait_for()
    wait_until(lambda: len(sms_codes(env)) == 1, message="the SMS with the code")
    page.get_by_label("Verificatiecode").fill(sms_codes(env)[-1])
    page.get_by_role("button", name="Login").click()
    page.get_by_role("heading", name="Mijn ontvangen bestanden").wait_for()
    assert errors == []
