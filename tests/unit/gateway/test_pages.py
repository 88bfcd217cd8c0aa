"""Where a login may lead (no open redirect) and whose address a request is."""
from urllib.parse import quote

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway.settings import GatewaySettings
from services.gateway.pages import client_ip, safe_next

FILE = "/files/0b6d3c1e-4f2a-4c8e-9a51-2f0e8d7c6b5a"


# --- next: an allow-list of the portal's own pages ------------------------------------------------

@pytest.mark.parametrize("given, kept", [
    ("/files", "/files"),
    (FILE, FILE),
    ("/files?sort=name&dir=desc", "/files?sort=name&dir=desc"),
    ("/files?dir=asc&sort=size&deleted=3", "/files?sort=size&dir=asc"),  # only the sort order is kept
    ("/files?sort=evil", "/files"),
    ("/files?page=3&sort=size&dir=asc", "/files?sort=size&dir=asc&page=3"),
    ("/files?page=0", "/files"), ("/files?page=1e9", "/files"), ("/files?page=1234567", "/files"),
    ("/account", "/account"),
    ("/account?x=1", "/files"),
])
def test_the_portals_own_file_pages_are_kept(given, kept):
    assert safe_next(given) == kept


EVIL = [
    "//evil.example", "///evil.example", "/\t/evil.example", "/\r/evil.example", "/\n/evil.example",
    "/\\evil.example", "\\\\evil.example", "/files\\..\\..\\evil", "https://evil.example", "http:evil.example",
    "javascript:alert(1)", "evil.example", "/%2F/evil.example", "/%252F/evil.example", "%2F%2Fevil.example",
    "/%09/evil.example", "/files/../evil", f"{FILE}/../..//evil.example", f"{FILE}?x=//evil", "/files#//evil",
    "/files?sort=name\r\nSet-Cookie: x=1", f"{FILE.upper()}", "/files/..%2F..%2Fevil", "/login", "/help",
    "/files/" + "a" * 36, "", None, 42, ["/files"], "/" + "f" * 5000,
]


@pytest.mark.parametrize("given", EVIL)
def test_anything_else_leads_to_the_file_list(given):
    assert safe_next(given) == "/files"


@pytest.mark.parametrize("given", [quote(value, safe="") for value in EVIL if isinstance(value, str)])
def test_an_encoded_value_is_not_decoded_into_somewhere_else(given):
    assert safe_next(given) == "/files"


# --- the client address ---------------------------------------------------------------------------

def request(peer: str, forwarded: str | None = None) -> Request:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return Request(EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": peer}).get_environ())


def settings(proxies: str = "") -> GatewaySettings:
    return GatewaySettings.load({"TRUSTED_PROXIES": proxies})


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards():
    assert client_ip(request("203.0.113.9", "198.51.100.1"), settings()) == "203.0.113.9"


def test_a_forwarded_address_counts_only_from_a_trusted_proxy():
    proxies = settings("172.16.0.0/12")
    assert client_ip(request("203.0.113.9", "198.51.100.1"), proxies) == "203.0.113.9"
    assert client_ip(request("172.18.0.5", "198.51.100.1"), proxies) == "198.51.100.1"


def test_the_right_most_address_that_is_not_a_trusted_proxy_is_the_client():
    proxies = settings("172.16.0.0/12, 10.0.0.7")
    # the client made up the first two entries; nginx appended what it saw, a load balancer too
    forwarded = "1.2.3.4, 5.6.7.8, 198.51.100.1, 10.0.0.7"
    assert client_ip(request("172.18.0.5", forwarded), proxies) == "198.51.100.1"


def test_garbage_is_never_passed_on():
    proxies = settings("172.16.0.0/12")
    for forwarded in ("nonsense", "198.51.100.1, <script>", "", " , ", "1.2.3.4.5", "198.51.100.1;drop table"):
        assert client_ip(request("172.18.0.5", forwarded), proxies) == "172.18.0.5", forwarded
    assert client_ip(request("172.18.0.5", "198.51.100.1, 172.20.0.2, x"), proxies) == "172.18.0.5"
    assert client_ip(request("172.18.0.5", "junk, 198.51.100.1"), proxies) == "198.51.100.1"


def test_only_trusted_proxies_in_the_chain_gives_the_first_of_them():
    assert client_ip(request("172.18.0.5", "172.18.0.9"), settings("172.16.0.0/12")) == "172.18.0.9"


def test_ipv6_addresses_are_passed_on_exactly_and_ipv4_mapped_ones_as_ipv4():
    proxies = settings("fd00::/8")
    assert client_ip(request("fd00::5", "2001:db8:1:2:3:4:5:6"), proxies) == "2001:db8:1:2:3:4:5:6"
    assert client_ip(request("fd00::5", "2001:DB8::0:1"), proxies) == "2001:db8::1"
    assert client_ip(request("::ffff:203.0.113.9"), settings()) == "203.0.113.9"


# --- cookies: Secure with the __Host- prefix over https -----------------------------------------

def test_cookies_over_https_are_secure_host_only_cookies():
    from werkzeug.wrappers import Response

    from services.gateway.pages import set_cookie

    for url, header in (("https://energiepost.example.be", "__Host-session=v; Secure; HttpOnly; Path=/; SameSite=Lax"),
                        ("http://127.0.0.1:8000", "ep_session=v; HttpOnly; Path=/; SameSite=Lax")):
        response = Response()
        set_cookie(response, "session", "v", GatewaySettings.load({"PUBLIC_BASE_URL": url}))
        assert response.headers["Set-Cookie"] == header


# --- the trusted-device cookie ---------------------------------------------------------------

@pytest.mark.parametrize("base_url, name, secure", [
    ("https://energiepost.example.be", "__Host-device", True),
    ("http://127.0.0.1:8000", "ep_device", False),
])
def test_the_device_cookie_is_httponly_lax_kept_for_its_days_and_secure_over_https(base_url, name, secure):
    from werkzeug.wrappers import Response

    from services.gateway import pages

    response = Response()
    pages.set_cookie(response, pages.DEVICE, "token", GatewaySettings.load({"PUBLIC_BASE_URL": base_url}),
                     max_age=180 * 24 * 3600)
    (header,) = response.headers.getlist("Set-Cookie")
    attributes = {part.strip().lower() for part in header.split(";")[1:]}
    assert header.startswith(f"{name}=token;")
    assert {"httponly", "samesite=lax", "path=/", "max-age=15552000"} <= attributes
    assert ("secure" in attributes) is secure
