"""How sizes and dates are written for Dutch-speaking readers, and the Jinja2 set-up
that e-mails and portal pages share."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

LOCAL_ZONE = ZoneInfo("Europe/Brussels")


def size_nl(size: int) -> str:
    """1250000 -> '1,25 MB'; 3200000000 -> '3,20 GB' (decimal units, as in the seed)."""
    if size >= 1_000_000_000:
        value, unit = size / 1_000_000_000, "GB"
    else:
        value, unit = size / 1_000_000, "MB"
    return f"{value:.2f}".replace(".", ",") + f" {unit}"


def local(moment: datetime | str) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(LOCAL_ZONE)


def date_nl(moment: datetime | str) -> str:
    """A moment as the Belgian calendar date: 6-11-2018."""
    day = local(moment)
    return f"{day.day}-{day.month}-{day.year}"


def datetime_nl(moment: datetime | str) -> str:
    """A moment as Belgian date and time: 6-11-2018 14:05."""
    when = local(moment)
    return f"{date_nl(when)} {when:%H:%M}"


def template_environment(directory: Path, **options) -> Environment:
    """Jinja2 for a service's templates: autoescaped (HTML, e-mail included), strict about
    missing values, with the ``size_nl``, ``date_nl`` and ``datetime_nl`` filters."""
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        **options,
    )
    env.filters["size_nl"] = size_nl
    env.filters["date_nl"] = date_nl
    env.filters["datetime_nl"] = datetime_nl
    return env
