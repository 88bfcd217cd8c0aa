"""Make the compose stack's secrets: ``make secrets`` (``python -m ops.make_secrets [DIR]``).

One file per secret under ``deploy/secrets/`` (the directory readable by its owner only; the
files readable by the containers' unprivileged users, which see only the ones compose mounts
for them).  A file that exists is kept, so running it again changes nothing; delete one to
make it anew (and restart what uses it).  Passwords are hex: safe inside the URLs built here.

| file | what |
| --- | --- |
| `postgres_password` | PostgreSQL's superuser (only the `postgres` container reads it) |
| `database_url_auth`, `_files`, `_notify` | each service's own database user and database |
| `rabbitmq_admin_password` | the broker's `admin` (management UI on 127.0.0.1:15672; not used by the application) |
| `amqp_uri_<user>` | a broker user of its own for auth, files, notify, gateway, cli and migrate, on the vhost `energiepost` |
| `rabbitmq_definitions.json` | those users (salted SHA-256 hashes, never the passwords), the vhost, each user's permissions (`BROKER_PERMISSIONS`): loaded at boot |
| `s3_access_key_id`, `s3_secret_access_key`, `seaweedfs_s3.json` | the blob store's key (`files`, `gateway`) and the S3 server's identities |
| `ingest_api_keys`, `csrf_secret`, `totp_encryption_key`, `auth_secret_key` | gateway and auth keys (the CLI uses the ingest key) |
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys
from pathlib import Path

from shared.settings import PROJECT_ROOT

DEFAULT_DIR = PROJECT_ROOT / "deploy" / "secrets"
BUCKET = "energiepost"
VHOST = "energiepost"
DATABASES = ("auth", "files", "notify")


def rabbitmq_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + password))."""
    salt = salt if salt is not None else secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def _password() -> str:
    return secrets.token_hex(24)


def _write(directory: Path, name: str, make) -> str:
    path = directory / name
    if path.exists():
        return path.read_text().strip()
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o644)  # whatever the umask: the containers' users must read it
    print(f"made {path.relative_to(directory.parent) if directory.parent in path.parents else path}")
    return value


def make_secrets(directory: Path = DEFAULT_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    _write(directory, "postgres_password", _password)
    for name in DATABASES:
        _write(directory, f"database_url_{name}",
               lambda name=name: f"postgresql://energiepost_{name}:{_password()}@postgres:5432/{name}")
    admin = _write(directory, "rabbitmq_admin_password", _password)
    passwords = {}
    for user in BROKER_PERMISSIONS:
        uri = _write(directory, f"amqp_uri_{user}",
                     lambda user=user: f"amqp://energiepost-{user}:{_password()}@rabbitmq:5672/{VHOST}")
        passwords[user] = uri.split(f"://energiepost-{user}:", 1)[1].split("@", 1)[0]
    _write(directory, "rabbitmq_definitions.json", lambda: json.dumps(rabbitmq_definitions(passwords, admin),
                                                                      indent=2))
    key_id = _write(directory, "s3_access_key_id", lambda: "energiepost-" + secrets.token_hex(8))
    secret_key = _write(directory, "s3_secret_access_key", lambda: secrets.token_hex(32))
    _write(directory, "seaweedfs_s3.json", lambda: json.dumps(seaweedfs_identities(key_id, secret_key), indent=2))
    _write(directory, "ingest_api_keys", lambda: secrets.token_urlsafe(32))
    _write(directory, "csrf_secret", lambda: secrets.token_urlsafe(32))
    _write(directory, "totp_encryption_key", lambda: secrets.token_urlsafe(32))
    _write(directory, "auth_secret_key", lambda: secrets.token_urlsafe(32))


def _names(*patterns: str) -> str:
    return "^(" + "|".join(patterns) + ")$"


def _own(service: str) -> list[str]:
    """Its RPC queue and reply queues, and the reply queues of ``energiepost health`` (its healthcheck)."""
    return ["nameko-rpc", f"rpc-{service}", rf"rpc\.reply-{service}-.*", r"rpc\.reply-standalone_rpc_proxy-.*"]


_NOTIFY_QUEUES = r"evt-(files|auth)-[a-z_]+--notify\..*"
_FILES_QUEUES = r"evt-(files|notify|upstream|auth)-[a-z_]+--files\..*"
_AUTH_QUEUES = r"evt-files-retention_due--auth\..*"  # auth purges its security records on the daily run
_UPSTREAM_QUEUES = r"energiepost\.upstream\.[a-z_]+"
# What each broker user needs (RabbitMQ: configure = declare, write = publish or bind a queue,
# read = consume or bind from an exchange); names as nameko 2.14 makes them.  kombu declares a
# queue's exchange again with the queue, so binding needs configure on the exchange too; only
# publishing needs write on an exchange.
BROKER_PERMISSIONS = {
    "auth": {"configure": _names(*_own("auth"), r"(auth|files)\.events", _AUTH_QUEUES),
             "write": _names(*_own("auth"), r"auth\.events", _AUTH_QUEUES),
             "read": _names(*_own("auth"), r"files\.events", _AUTH_QUEUES)},
    "files": {"configure": _names(*_own("files"), r"(files|notify|upstream|auth)\.events", _FILES_QUEUES),
              "write": _names(*_own("files"), r"files\.events", _FILES_QUEUES),
              "read": _names(*_own("files"), r"(files|notify|upstream|auth)\.events", _FILES_QUEUES)},
    "notify": {"configure": _names(*_own("notify"), r"(files|auth|notify)\.events", _NOTIFY_QUEUES),
               "write": _names(*_own("notify"), r"notify\.events", _NOTIFY_QUEUES),
               "read": _names(*_own("notify"), r"(files|auth)\.events", _NOTIFY_QUEUES)},
    "gateway": dict.fromkeys(("configure", "write", "read"), _names(*_own("gateway"))),
    "cli": dict.fromkeys(("configure", "write", "read"),
                         _names("nameko-rpc", r"rpc\.reply-standalone_rpc_proxy-.*")),
    # declares every handler queue and the upstream's queues, with their exchanges and bindings
    "migrate": dict.fromkeys(("configure", "write", "read"),
                             _names(r"(auth|files|notify|upstream)\.events", r"evt-[a-z_]+-[a-z_]+--[a-z]+\..*",
                                    _UPSTREAM_QUEUES)),
}


def rabbitmq_definitions(passwords: dict[str, str], admin_password: str) -> dict:
    """A user per service (``energiepost-<name>``) with only its ``BROKER_PERMISSIONS``, on the vhost
    of the application, and an administrator for the operator."""
    def user(name, password, tags):
        return {"name": name, "password_hash": rabbitmq_hash(password),
                "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": tags}

    return {
        "users": [user(f"energiepost-{name}", password, []) for name, password in passwords.items()]
        + [user("admin", admin_password, ["administrator"])],
        "vhosts": [{"name": VHOST}],
        "permissions": [{"user": f"energiepost-{name}", "vhost": VHOST, **BROKER_PERMISSIONS[name]}
                        for name in passwords]
        + [{"user": "admin", "vhost": VHOST, "configure": ".*", "write": ".*", "read": ".*"}],
    }


def seaweedfs_identities(key_id: str, secret_key: str) -> dict:
    """SeaweedFS's S3 identities: the application reads, writes and lists its bucket only."""
    actions = [f"{action}:{BUCKET}" for action in ("Read", "Write", "List", "Tagging")]
    return {"identities": [{"name": "energiepost", "credentials": [{"accessKey": key_id, "secretKey": secret_key}],
                            "actions": actions}]}


if __name__ == "__main__":
    make_secrets(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR)
