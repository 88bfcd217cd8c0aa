"""What `make test` needs besides the Python packages; idempotent, quick when done.

- RabbitMQ's management API (the tests make a vhost per test through it): the
  plugin is enabled when it is off.
- PostgreSQL must answer (the suite runs once against it).
- Chromium for the browser tests, docker-compose to validate compose.yaml and nginx to run the
  compose edge's configuration in front of a gateway:
  Debian's packages, installed when missing (Playwright drives the system
  Chromium; it never downloads a browser of its own).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import requests

RABBIT_API = os.environ.get("TEST_RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
POSTGRES = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432").replace("+psycopg2", "")


def _management_api_up() -> bool:
    try:
        return requests.get(f"{RABBIT_API}/api/overview", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def ensure_rabbitmq_management() -> None:
    if _management_api_up():
        return
    plugins = shutil.which("rabbitmq-plugins")
    if not plugins:
        sys.exit("test setup: RabbitMQ's management API is not reachable and rabbitmq-plugins is not installed")
    print("test setup: enabling rabbitmq_management", flush=True)
    subprocess.run([plugins, "enable", "rabbitmq_management"], check=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not _management_api_up():
        if time.monotonic() > deadline:
            sys.exit(f"test setup: RabbitMQ's management API did not come up at {RABBIT_API}")
        time.sleep(0.5)


def ensure_postgres() -> None:
    import psycopg2

    try:
        psycopg2.connect(POSTGRES + "/postgres", connect_timeout=5).close()
    except psycopg2.OperationalError as exc:
        sys.exit(
            f"test setup: PostgreSQL is not reachable at {POSTGRES} ({str(exc).strip()}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )


DEBIAN_PACKAGES = {"/usr/bin/chromium": "chromium", "/usr/bin/docker-compose": "docker-compose",
                   "/usr/sbin/nginx": "nginx"}


def ensure_debian_packages(packages: dict[str, str] = DEBIAN_PACKAGES, purpose: str = "test setup") -> None:
    """Install the Debian packages (``{path it provides: package}``) whose path is missing."""
    missing = [package for path, package in packages.items() if not os.path.exists(path)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"{purpose}: install Debian's {' and '.join(missing)} (apt-get install {' '.join(missing)})")
    print(f"{purpose}: installing {', '.join(missing)} (Debian packages)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> None:
    ensure_rabbitmq_management()
    ensure_postgres()
    ensure_debian_packages()


if __name__ == "__main__":
    main()
