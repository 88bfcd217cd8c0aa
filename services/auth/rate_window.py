"""The one counter behind auth's rate limits: have ``limit`` rows fallen within the last
``window``?  (Wrong tries per client address, SMS codes and reset links per manager.)"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def reached(db: Session, at_column, *, limit: int, window: timedelta, now: datetime, **match) -> bool:
    """Whether ``limit`` rows of ``at_column``'s table that match ``match`` (column=value)
    have their ``at_column`` after ``now - window``."""
    model = at_column.class_
    count = db.scalar(select(func.count()).select_from(model).where(
        at_column > now - window, *(getattr(model, column) == value for column, value in match.items())))
    return count >= limit
