"""Debian's nginx as the baseline for downloads: installed by the benchmark set-up if
missing, started on loopback with a configuration of its own, stopped afterwards."""
from __future__ import annotations

import contextlib
import getpass
import subprocess
import tempfile
from pathlib import Path

from ops.test_setup import ensure_debian_packages
from tests.support.sinks import free_port, wait_until

NGINX = "/usr/sbin/nginx"
CONFIG = """
user {user};
worker_processes 1;
daemon off;
pid {home}/nginx.pid;
error_log {home}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    client_body_temp_path {home}/body;
    proxy_temp_path {home}/proxy;
    fastcgi_temp_path {home}/fastcgi;
    uwsgi_temp_path {home}/uwsgi;
    scgi_temp_path {home}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


@contextlib.contextmanager
def serving(root: Path):
    """nginx serving ``root`` on a free loopback port; yields its base URL."""
    ensure_debian_packages({NGINX: "nginx"}, "bench setup")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="energiepost-nginx-") as home:
        config = Path(home) / "nginx.conf"
        config.write_text(CONFIG.format(user=getpass.getuser(), home=home, port=port, root=root))
        process = subprocess.Popen([NGINX, "-p", home, "-c", str(config)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: process.poll() is None and (Path(home) / "nginx.pid").exists(), timeout=10,
                       message="nginx to start")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)
