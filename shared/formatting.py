"""How sizes and dates are written for Dutch-speaking readers, and the Jinja2 set-up
that e-mails and portal pages share."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

LOCAL_ZONE = ZoneInfo("Europe/Brussels")  # the managers' calendar: every date shown, and the day files expire
KIND_LABELS = {"periodic": "periodiek bestand", "adhoc": "ad-hoc communicatie"}  # the text's own words
_UNITS = ((1_000, "kB"), (1_000_000, "MB"), (1_000_000_000, "GB"))
_NAME_BREAKS = re.compile(r"([-_.]+)")


def size_nl(size: int) -> str:
    """A size in decimal units with a Dutch decimal comma and the largest unit that keeps the
    rounded value under 1000: 512 -> '512 B', 1250000 -> '1,25 MB', 999999 -> '1,00 MB',
    999999999 -> '1,00 GB'.  A file of a few bytes is never '0,00 MB'."""
    if size < 1_000:
        return f"{size} B"
    for factor, unit in _UNITS:
        hundredths = (size * 100 + factor // 2) // factor  # exact, halves rounded up
        if hundredths < 100_000:  # under "1000,00" once rounded
            break
    return f"{hundredths // 100},{hundredths % 100:02d} {unit}"


def kind_nl(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def breakable(name: str) -> Markup:
    """A file name, escaped, that may wrap after '-', '_' and '.' (a <wbr> after each run of
    them) before anywhere else; CSS ``overflow-wrap: anywhere`` is the last resort."""
    return Markup(_NAME_BREAKS.sub(r"\1<wbr>", str(escape(name))))  # escaped text holds no '<' of its own


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


def last_day_nl(expires_at: datetime | str) -> str:
    """The last day a file is available, given the moment it expires: files expire at the start
    of a local day (services.files.retention.expiry_moment), so it is the day before."""
    return date_nl(local(expires_at) - timedelta(microseconds=1))


def template_environment(directory: Path, **options) -> Environment:
    """Jinja2 for a service's templates: autoescaped (HTML, e-mail included), strict about
    missing values, with the Dutch filters of this module."""
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
    env.filters["last_day_nl"] = last_day_nl
    env.filters["kind_nl"] = kind_nl
    env.filters["breakable"] = breakable
    return env
