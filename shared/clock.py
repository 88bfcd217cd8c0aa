"""Time as a dependency, so tests can set it (tests.support.clock)."""
from __future__ import annotations

from datetime import datetime, timezone

from nameko.extensions import DependencyProvider


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class Clock(DependencyProvider):
    def setup(self):
        self.clock = SystemClock()

    def get_dependency(self, worker_ctx):
        return self.clock
