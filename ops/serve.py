"""Run one service: ``python -m ops.serve files`` (what the Procfile and compose start).

Its settings are checked first, against the same values its container will see
(``config.yaml`` over the environment): a bad or missing value ends the start with one
line per problem and exit status 2, before anything connects.  Then it is
``nameko run --config config.yaml services.<name>.service``.
"""
from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections import ChainMap

import yaml

from shared.settings import PROJECT_ROOT, ConfigurationError, declared_settings_class

SERVICES = ("auth", "files", "notify", "gateway")
CONFIG = PROJECT_ROOT / "config.yaml"


with warnings.catch_warnings():  # nameko 2.14's command line imports the deprecated pkg_resources
    warnings.simplefilter("ignore")
    from nameko.cli.main import main as nameko_main
    from nameko.cli.main import setup_yaml_parser


def problems(service: str) -> list[str]:
    """What is wrong with the service's settings (nothing: an empty list)."""
    setup_yaml_parser()
    with open(CONFIG) as handle:
        config = yaml.safe_load(handle)
    module = importlib.import_module(f"services.{service}.service")
    service_cls = next(value for value in vars(module).values()
                       if isinstance(value, type) and getattr(value, "name", None) == service)
    try:
        declared_settings_class(service_cls).load(ChainMap(config, os.environ))
    except ConfigurationError as exc:
        return str(exc).splitlines()
    return []


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
    sys.argv = ["nameko", "run", "--config", str(CONFIG), f"services.{service}.service"]
    return nameko_main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
