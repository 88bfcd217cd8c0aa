"""Bring every service's database to the newest schema: ``python -m ops.migrate [service ...]``."""
from __future__ import annotations

import sys

from ops.settings import SERVICES_WITH_DATABASE, OpsSettings
from shared.migrations import upgrade
from shared.settings import ConfigurationError


def main(argv: list[str]) -> int:
    services = argv or list(SERVICES_WITH_DATABASE)
    unknown = sorted(set(services) - set(SERVICES_WITH_DATABASE))
    if unknown:
        print(f"migrate: unknown service(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        settings = OpsSettings.load()
    except ConfigurationError as exc:
        for line in str(exc).splitlines():
            print(f"migrate: invalid setting: {line}", file=sys.stderr)
        return 2
    for service in services:
        upgrade(service, settings.database_url(service))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
