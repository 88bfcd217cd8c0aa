"""Argument types: a bad value is a usage error (exit 2) with one clear line."""
from __future__ import annotations

import argparse
from datetime import date, datetime


def iso_date(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def since(value: str) -> str:
    """A date (from its start in Brussels) or a moment with its offset, as the services take it."""
    if len(value) == 10:
        return iso_date(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"not a date (YYYY-MM-DD) or a moment with its offset (2026-11-01T08:00+01:00): {value!r}")
    return moment.isoformat()


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of at least 1: {value!r}")
    return number
