"""Run one service: ``python -m ops.serve files`` (what the Procfile and compose start).

Its settings are checked first, against the same values its container will see
(``config.yaml`` over the environment): a bad or missing value ends the start with one
line per problem and exit status 2, before anything connects.  In production that
includes every required secret that is missing and a PUBLIC_BASE_URL that is not
https://.  Then it is ``nameko run --config config.yaml services.<name>.service``.

``AMQP_URI_FILE`` (a compose secret: the URI holds the broker password) is read here and
handed to nameko as ``AMQP_URI``, since nameko's own config.yaml reads the variable.
"""
from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections import ChainMap
from pathlib import Path

import yaml

from shared.settings import PROJECT_ROOT, ConfigurationError, declared_settings_class

SERVICES = ("auth", "files", "notify", "gateway")
CONFIG = PROJECT_ROOT / "config.yaml"


with warnings.catch_warnings():  # nameko 2.14's command line imports the deprecated pkg_resources
    warnings.simplefilter("ignore")
    from nameko.cli.main import main as nameko_main
    from nameko.cli.main import setup_yaml_parser


def amqp_uri_from_file(environ=os.environ) -> str | None:
    """``AMQP_URI`` from ``AMQP_URI_FILE`` for nameko's config.yaml; a problem, or None."""
    path = environ.get("AMQP_URI_FILE", "").strip()
    if not path:
        return None
    if environ.get("AMQP_URI", "").strip():
        return "AMQP_URI: set either AMQP_URI or AMQP_URI_FILE, not both"
    try:
        environ["AMQP_URI"] = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        return f"AMQP_URI_FILE: cannot read {path} ({exc.strerror})"
    del environ["AMQP_URI_FILE"]
    return None


def problems(service: str) -> list[str]:
    """What is wrong with the service's settings (nothing: an empty list)."""
    problem = amqp_uri_from_file()
    if problem:
        return [problem]
    setup_yaml_parser()
    with open(CONFIG) as handle:
        config = yaml.safe_load(handle)
    module = importlib.import_module(f"services.{service}.service")
    service_cls = next(value for value in vars(module).values()
                       if isinstance(value, type) and getattr(value, "name", None) == service)
    try:
        settings = declared_settings_class(service_cls).load(ChainMap(config, os.environ))
    except ConfigurationError as exc:
        return str(exc).splitlines()
    return settings.production_problems()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(f"usage: python -m ops.serve {{{','.join(SERVICES)}}}", file=sys.stderr)
        return 2
    (service,) = argv
    found = problems(service)
    for line in found:
        print(f"energiepost {service}: invalid setting: {line}", file=sys.stderr)
    if found:
        return 2
    os.environ["ENERGIEPOST_SERVICE"] = service  # named in every JSON log line (shared/logs.py)
    sys.argv = ["nameko", "run", "--config", str(CONFIG), f"services.{service}.service"]
    return nameko_main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
