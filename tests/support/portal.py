"""Driving the managers' portal like a browser: a ``requests.Session`` that carries the
page's ``csrf_token`` into every form, and the login walk (initial password, own
password, SMS code) against services started in the test process.

Form field names are contract: ``login``/``password``, ``new_password``/
``new_password_confirm``, ``code``, checkboxes ``file`` (value = file id), and
``csrf_token`` on every POST.
"""
from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests

from services.auth.service import AuthService
from services.files.service import FilesService
from services.gateway.service import GatewayService
from services.notify.service import NotifyService
from tests.support.sinks import credentials_in, wait_until
from tests.support.system import add_community, ingest

ALL = (AuthService, FilesService, NotifyService, GatewayService)
OWN_PASSWORD = "paarse konijnen dansen 42"  # passes the policy: long, not common, no login or community name
SESSION_COOKIE, ATTEMPT_COOKIE, CSRF_COOKIE = "ep_session", "ep_attempt", "ep_csrf"  # names over plain http

_CSRF = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]*)">')
_CODE = re.compile(r"\b(\d{6})\b")
_ROW = re.compile(r"<tr(?P<attrs>[^>]*)>\s*<td class=\"check\">(?P<body>.*?)</tr>", re.S)


# --- reading pages --------------------------------------------------------------------------

def csrf_token_in(page: str) -> str | None:
    found = _CSRF.findall(page)
    assert len(set(found)) <= 1, f"one CSRF token per page, found {set(found)}"
    return found[0] if found else None


def error_text(page: str) -> str | None:
    """The visible error paragraph of a page (``role="alert"``)."""
    match = re.search(r'<p class="alert alert-error" role="alert">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1).strip()) if match else None


def info_text(page: str) -> str | None:
    match = re.search(r'<p class="alert alert-info" role="status">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1).strip()) if match else None


def without_csrf(page: str) -> str:
    return _CSRF.sub('<input type="hidden" name="csrf_token" value="">', page)


@dataclass
class Row:
    """One file row of "Mijn ontvangen bestanden", as shown."""

    id: str
    name: str
    facts: list[str]  # the lines under the name: the kind, the community, and on a phone the columns left out
    is_new: bool
    size: str
    published: str
    shared_by: str
    expires: str
    checked: bool
    highlighted: bool


def file_rows(page: str) -> list[Row]:
    rows = []
    for match in _ROW.finditer(page):
        body = match.group("body")
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", "<td>" + body, re.S)[1:]]
        checkbox = re.search(r'<input type="checkbox" name="file" value="([^"]+)"[^>]*>', body).group(0)
        label = re.search(r'<label for="file-[^"]+" class="name">(.*?)</label>', body, re.S).group(1)
        facts = re.search(r'<span class="facts">(.*?)</span></td>', body, re.S).group(1)
        rows.append(Row(
            id=re.search(r'value="([^"]+)"', checkbox).group(1),
            name=html.unescape(label.replace("<wbr>", "")),
            facts=[html.unescape(fact) for fact in re.findall(r"<span[^>]*>(.*?)</span>", facts)],
            is_new='<small class="badge">Nieuw</small>' in body,
            size=cells[1], published=cells[2], shared_by=cells[3], expires=cells[4],
            checked=" checked" in checkbox,
            highlighted='class="selected"' in match.group("attrs"),
        ))
    return rows


def totals(page: str) -> dict[str, str]:
    return {html.unescape(dt): html.unescape(dd)
            for dt, dd in re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", page, re.S)}


def set_cookie_headers(response: requests.Response) -> list[str]:
    """The raw ``Set-Cookie`` headers of one response (requests joins them otherwise)."""
    return list(response.raw.headers.getlist("Set-Cookie"))


def set_cookie(response: requests.Response, name: str) -> str | None:
    for header in set_cookie_headers(response):
        if header.split("=", 1)[0].strip() == name:
            return header
    return None


def location_path(response: requests.Response) -> str:
    """Where a redirect points, as path?query (the gateway answers with relative URLs)."""
    assert response.status_code in (301, 302, 303, 307, 308), (response.status_code, response.text[:500])
    parts = urlsplit(response.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- the browser ----------------------------------------------------------------------------

class PortalClient:
    """A browser without JavaScript: cookies, and the CSRF token of the last page seen."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.csrf_token: str | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def _seen(self, response: requests.Response) -> requests.Response:
        if response.headers.get("Content-Type", "").startswith("text/html"):
            token = csrf_token_in(response.text)
            if token:
                self.csrf_token = token
        return response

    def get(self, path: str, *, follow: bool = False, **kwargs) -> requests.Response:
        return self._seen(self.http.get(self.url(path), allow_redirects=follow, timeout=30, **kwargs))

    def post(self, path: str, data=None, *, csrf: str | None | bool = True, follow: bool = False,
             **kwargs) -> requests.Response:
        """POST a form; ``csrf=True`` adds the page's token (loading /login first if no page
        was seen yet), ``False`` leaves it out, a string sends that instead."""
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf is True:
            if self.csrf_token is None:
                self.get("/login")
            fields.append(("csrf_token", self.csrf_token))
        elif isinstance(csrf, str):
            fields.append(("csrf_token", csrf))
        return self._seen(self.http.post(self.url(path), data=fields, allow_redirects=follow, timeout=30, **kwargs))

    def cookie(self, name: str) -> str | None:
        return self.http.cookies.get(name)

    @property
    def session_token(self) -> str | None:
        return self.cookie(SESSION_COOKIE)

    def files_page(self, query: str = "") -> requests.Response:
        response = self.get("/files" + query)
        assert response.status_code == 200, (response.status_code, response.headers.get("Location"))
        return response

    def rows(self, query: str = "") -> list[Row]:
        return file_rows(self.files_page(query).text)

    def download(self, *file_ids: str, **kwargs) -> requests.Response:
        return self.post("/files/download", [("file", file_id) for file_id in file_ids], **kwargs)


# --- SMS ------------------------------------------------------------------------------------

def code_in(sms: dict) -> str:
    (code,) = _CODE.findall(sms["body"])
    return code


def next_sms(sms_sink, seen: int, timeout: float = 15.0) -> dict:
    """The first SMS after the ``seen`` ones (waits for it)."""
    messages = wait_until(lambda: (m := sms_sink.messages()) and len(m) > seen and m, timeout,
                          message=f"SMS number {seen + 1}")
    return messages[seen]


# --- the system under test ------------------------------------------------------------------

@dataclass
class LoggedIn:
    client: PortalClient
    login: str
    initial_password: str | None
    password: str
    codes: list[str] = field(default_factory=list)
    file_id: str | None = None
    attempt_token: str | None = None  # the cookie of the login attempt, before the code ended it
    verified: requests.Response | None = None  # the answer to POST /code (sets the session cookie)

    @property
    def session_token(self) -> str:
        return self.client.session_token


@dataclass
class PortalSystem:
    """The four services, the sinks, and helpers to walk the portal."""

    config: dict
    mail_sink: object
    sms_sink: object

    @property
    def base_url(self) -> str:
        return self.config["PUBLIC_BASE_URL"]

    def client(self) -> PortalClient:
        return PortalClient(self.base_url)

    def publish(self, community_id="zonnedelen-gent", content=b"ean;afname\n541448;12,5\n",
                filename="correcties-2026-10.csv", **kwargs) -> str:
        response = ingest(self.config, community_id=community_id, content=content, filename=filename, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def mails_to(self, address: str, count: int = 1) -> list:
        return wait_until(lambda: (m := [x for x in self.mail_sink.messages() if x["To"] == address])
                          and len(m) >= count and m, 15, message=f"{count} e-mail(s) to {address}")

    def credentials(self, address: str = "beheer@example.be") -> dict:
        credentials = credentials_in(self.mails_to(address)[0])
        assert set(credentials) == {"login", "password"}, credentials
        return credentials

    def enter_code(self, client: PortalClient, seen: int, **post) -> tuple[str, requests.Response]:
        """Read the code the SMS sink got after ``seen`` messages and POST it to /code.
        SMS arrive asynchronously: count ``seen`` only once every earlier code has arrived."""
        code = code_in(next_sms(self.sms_sink, seen))
        return code, client.post("/code", {"code": code, **post})

    def login_with_initial_password(self, client: PortalClient, credentials: dict) -> requests.Response:
        """POST /login with the mailed initial password: the way on is choosing an own one."""
        response = client.post("/login", {"login": credentials["login"], "password": credentials["password"]})
        assert response.status_code == 303 and location_path(response).startswith("/password/new"), \
            (response.status_code, error_text(response.text))
        return response

    def full_login(self, client: PortalClient | None = None, *, community_id="zonnedelen-gent",
                   address="beheer@example.be", password=OWN_PASSWORD, publish=True) -> LoggedIn:
        """Publish a file, take the first e-mail's credentials, log in, choose an own password,
        enter the SMS code: a logged-in client with a session cookie."""
        client = client or self.client()
        file_id = self.publish(community_id=community_id) if publish else None
        credentials = self.credentials(address)
        client.get("/login")
        self.login_with_initial_password(client, credentials)
        seen = len(self.sms_sink.messages())
        chosen = client.post("/password/new", {"new_password": password, "new_password_confirm": password})
        assert chosen.status_code == 303 and location_path(chosen).startswith("/code"), \
            (chosen.status_code, error_text(chosen.text))
        attempt_token = client.cookie(ATTEMPT_COOKIE)
        code, verified = self.enter_code(client, seen)
        assert verified.status_code == 303, (verified.status_code, error_text(verified.text))
        assert client.session_token, "no session cookie after the SMS code"
        client.get(location_path(verified))  # as a browser: its forms' token is bound to the new session
        return LoggedIn(client, credentials["login"], credentials["password"], password, [code], file_id,
                        attempt_token, verified)

    def login_with_password(self, login: str, password: str, client: PortalClient | None = None,
                            next_path: str | None = None) -> LoggedIn:
        """A later login (own password, then the SMS code); ``next_path`` as the login form carries it."""
        client = client or self.client()
        client.get("/login")
        extra = {"next": next_path} if next_path else {}
        seen = len(self.sms_sink.messages())
        response = client.post("/login", {"login": login, "password": password, **extra})
        assert response.status_code == 303 and location_path(response).startswith("/code"), \
            (response.status_code, error_text(response.text))
        attempt_token = client.cookie(ATTEMPT_COOKIE)
        code, verified = self.enter_code(client, seen, **extra)
        assert verified.status_code == 303, (verified.status_code, error_text(verified.text))
        assert client.session_token, "no session cookie after the SMS code"
        client.get(location_path(verified))  # as a browser: its forms' token is bound to the new session
        return LoggedIn(client, login, None, password, [code], None, attempt_token, verified)


@pytest.fixture
def portal(runner_factory, service_config, mail_sink, sms_sink):
    """All four services with the SMS sink wired in, and one community
    (``zonnedelen-gent``, manager ``beheer@example.be``)."""
    config = {**service_config, "SMS_GATEWAY_URL": sms_sink.url}
    runner_factory(config, *ALL).start()
    add_community(config)
    return PortalSystem(config, mail_sink, sms_sink)


def timed(call, repeat: int = 3) -> float:
    """The average wall-clock time of ``call()``."""
    started = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - started) / repeat
