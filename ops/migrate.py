"""Bring every service's database to the newest schema: ``python -m ops.migrate [service ...]``."""
from __future__ import annotations

import sys

from shared.migrations import upgrade
from shared.settings import SERVICES_WITH_DATABASE, ConfigurationError, Settings


def main(argv: list[str]) -> int:
    services = argv or list(SERVICES_WITH_DATABASE)
    unknown = sorted(set(services) - set(SERVICES_WITH_DATABASE))
    if unknown:
        print(f"migrate: unknown service(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        settings = Settings.load()
    except ConfigurationError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 2
    for service in services:
        upgrade(service, settings.database_url(service))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
