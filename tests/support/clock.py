"""A clock for tests: given to a worker instead of the system clock (``shared.clock.Clock``)."""
from __future__ import annotations

from datetime import datetime, timedelta


class FixedClock:
    """A clock that stands still until moved."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)
