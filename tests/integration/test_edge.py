"""The compose edge (deploy/nginx/edge.conf) in front of a real gateway: TLS with the pair
`make certs` makes, http redirected to https, HSTS, /readyz kept inside, portal bodies small.
Debian's nginx runs the file with only its addresses changed to free loopback ports."""
import getpass
import subprocess
from pathlib import Path

import pytest
import requests
import urllib3

from ops.test_setup import ensure_debian_packages
from services.auth.service import AuthService
from services.files.service import FilesService
from services.gateway.service import GatewayService
from shared.settings import PROJECT_ROOT
from tests.support.sinks import free_port, wait_until

NGINX = "/usr/sbin/nginx"
WRAPPER = """
user {user};
worker_processes 1;
daemon off;
pid {home}/nginx.pid;
error_log {home}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {home}/body;
    proxy_temp_path {home}/proxy;
    fastcgi_temp_path {home}/fastcgi;
    uwsgi_temp_path {home}/uwsgi;
    scgi_temp_path {home}/scgi;
    include {home}/edge.conf;
}}
"""


def edge_config(gateway: str, ports: dict, certs: Path) -> str:
    text = (PROJECT_ROOT / "deploy" / "nginx" / "edge.conf").read_text()
    for old, new in (("listen 80 default_server;", f"listen 127.0.0.1:{ports['http']};"),
                     ("listen 443 ssl default_server;", f"listen 127.0.0.1:{ports['https']} ssl;"),
                     ("listen 127.0.0.1:8081;", f"listen 127.0.0.1:{ports['health']};"),
                     ("http://gateway:8000", f"http://{gateway}"),
                     ("/etc/nginx/tls/", f"{certs}/")):
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def edge(runner_factory, service_config, tmp_path):
    ensure_debian_packages({NGINX: "nginx"}, "test setup")
    runner_factory(service_config, AuthService, FilesService, GatewayService).start()
    certs = tmp_path / "certs"
    subprocess.run(["make", "-s", "certs", f"CERTS={certs}"], cwd=PROJECT_ROOT, check=True, capture_output=True,
                   timeout=120)
    ports = {name: free_port() for name in ("http", "https", "health")}
    home = tmp_path / "nginx"
    home.mkdir()
    (home / "edge.conf").write_text(edge_config(service_config["WEB_SERVER_ADDRESS"], ports, certs))
    (home / "nginx.conf").write_text(WRAPPER.format(user=getpass.getuser(), home=home))
    process = subprocess.Popen([NGINX, "-p", str(home), "-c", str(home / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: process.poll() is None and (home / "nginx.pid").exists(), timeout=10,
                   message="nginx to start")
        yield {"http": f"http://127.0.0.1:{ports['http']}", "https": f"https://127.0.0.1:{ports['https']}",
               "health": f"http://127.0.0.1:{ports['health']}", "certs": certs,
               "gateway": service_config["PUBLIC_BASE_URL"]}
    finally:
        process.terminate()
        process.wait(10)


def https(edge, method, path, **kwargs):
    return requests.request(method, edge["https"] + path, verify=str(edge["certs"] / "fullchain.pem"),
                            timeout=30, allow_redirects=False, **kwargs)


def test_tls_with_the_made_certificate_and_hsts(edge):
    response = https(edge, "GET", "/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert https(edge, "GET", "/login").headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_plain_http_only_redirects_to_https(edge):
    response = requests.get(edge["http"] + "/files?sort=name", timeout=10, allow_redirects=False)
    assert response.status_code == 301
    assert response.headers["Location"] == "https://127.0.0.1/files?sort=name"
    assert requests.post(edge["http"] + "/login", data={"login": "x"}, timeout=10,
                         allow_redirects=False).status_code == 301  # nothing reaches the gateway over http


def test_readiness_stays_inside_the_stack(edge):
    assert https(edge, "GET", "/readyz").status_code == 404
    assert requests.get(edge["gateway"] + "/readyz", timeout=30).status_code == 200
    assert requests.get(edge["health"] + "/healthz", timeout=10).status_code == 200  # the edge's own check


def test_portal_bodies_are_small_and_ingest_bodies_pass_through(edge):
    urllib3.disable_warnings()
    big_form = https(edge, "POST", "/login", data={"login": "x" * (100 * 1024)},
                     headers={"Cookie": "ep_csrf=" + "c" * 43})
    assert big_form.status_code == 413 and "nginx" in big_form.text  # refused at the edge
    upload = https(edge, "POST", "/api/v1/communities/zonnedelen-gent/files",
                   files={"file": ("a.csv", b"x" * (200 * 1024))})
    assert upload.status_code == 401  # the gateway's answer (no key), not the edge's 413
