"""The arguments every operator's listing RPC takes: ``since`` and ``limit``."""
from __future__ import annotations

from datetime import date, datetime, time

from shared.errors import InvalidInput
from shared.formatting import LOCAL_ZONE

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


def parse_since(value) -> datetime | None:
    """``None``; a date (``2026-11-01``: from the start of that day in Brussels); or a moment
    with its offset (``2026-11-01T08:00:00+01:00``)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return datetime.combine(date.fromisoformat(value), time(), LOCAL_ZONE)
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    raise InvalidInput(f"since must be a date (YYYY-MM-DD) or a moment with its offset, not {value!r}",
                       field="since")


def check_limit(value) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    return value


def optional_text(value, field: str, max_length: int = 64) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= max_length:
        raise InvalidInput(f"{field} must be text of at most {max_length} characters", field=field)
    return value
