"""`make secrets`: every secret the compose stack mounts, made once, consistent with each other."""
import json
import stat
from urllib.parse import urlsplit

import yaml

from ops.make_secrets import BROKER_PERMISSIONS, make_secrets
from shared.settings import PROJECT_ROOT


def test_every_mounted_secret_is_made_readable_in_a_private_directory(tmp_path):
    make_secrets(tmp_path / "secrets")
    declared = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())["secrets"]
    assert {path.name for path in (tmp_path / "secrets").iterdir()} == set(declared) | {"rabbitmq_admin_password"}
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    for path in (tmp_path / "secrets").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the containers' unprivileged users read them


def test_running_it_again_keeps_what_exists(tmp_path):
    make_secrets(tmp_path)
    before = {path.name: path.read_text() for path in tmp_path.iterdir()}
    (tmp_path / "csrf_secret").unlink()
    make_secrets(tmp_path)
    after = {path.name: path.read_text() for path in tmp_path.iterdir()}
    assert after["csrf_secret"] != before.pop("csrf_secret")
    assert {name: after[name] for name in before} == before


def test_the_derived_secrets_agree(tmp_path):
    make_secrets(tmp_path)
    read = lambda name: (tmp_path / name).read_text().strip()  # noqa: E731
    definitions = json.loads(read("rabbitmq_definitions.json"))
    users = ["auth", "files", "notify", "gateway", "cli", "migrate"]
    assert [user["name"] for user in definitions["users"]] == [f"energiepost-{name}" for name in users] + ["admin"]
    for name in users:
        amqp = urlsplit(read(f"amqp_uri_{name}"))
        assert (amqp.username, amqp.hostname, amqp.path) == (f"energiepost-{name}", "rabbitmq", "/energiepost")
        assert amqp.password not in read("rabbitmq_definitions.json")  # only its hash
        (permissions,) = [p for p in definitions["permissions"] if p["user"] == f"energiepost-{name}"]
        assert permissions == {"user": f"energiepost-{name}", "vhost": "energiepost", **BROKER_PERMISSIONS[name]}
    (identity,) = json.loads(read("seaweedfs_s3.json"))["identities"]
    assert identity["credentials"] == [{"accessKey": read("s3_access_key_id"),
                                        "secretKey": read("s3_secret_access_key")}]
    users = {urlsplit(read(f"database_url_{name}")).username for name in ("auth", "files", "notify")}
    assert len(users) == 3  # a database user per service
