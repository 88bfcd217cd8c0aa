"""Sizes, dates, kinds and file names as the portal, the e-mails and the CLI write them."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment, select_autoescape

from shared.formatting import breakable, kind_nl, last_day_nl, size_nl

BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize("size, shown", [
    (0, "0 B"),
    (1, "1 B"),
    (23, "23 B"),
    (999, "999 B"),
    (1_000, "1,00 kB"),
    (1_004, "1,00 kB"),
    (1_005, "1,01 kB"),  # halves round up, exactly (no binary float in between)
    (23_456, "23,46 kB"),
    (999_994, "999,99 kB"),
    (999_995, "1,00 MB"),  # would round to "1000,00 kB": the next unit
    (999_999, "1,00 MB"),
    (1_000_000, "1,00 MB"),
    (1_250_000, "1,25 MB"),
    (2_340_000, "2,34 MB"),
    (999_994_999, "999,99 MB"),
    (999_999_999, "1,00 GB"),
    (2_147_483_648, "2,15 GB"),
    (3_200_000_000_000, "3200,00 GB"),
])
def test_sizes_have_a_dutch_comma_and_the_unit_that_fits(size, shown):
    assert size_nl(size) == shown


def test_no_file_with_bytes_in_it_shows_as_nothing():
    assert all(not size_nl(size).startswith("0") for size in range(1, 20_000))


def test_the_ad_hoc_kind_has_the_texts_name():
    assert kind_nl("adhoc") == "ad-hoc communicatie"
    assert kind_nl("periodic") == "periodiek bestand"


@pytest.mark.parametrize("expires_at, last_day", [
    (datetime(2026, 12, 10, 0, 0, tzinfo=BRUSSELS), "9-12-2026"),
    (datetime(2026, 12, 9, 23, 0, tzinfo=timezone.utc), "9-12-2026"),  # the same moment
    ("2026-12-09T23:00:00+00:00", "9-12-2026"),  # as it travels in events
    (datetime(2027, 3, 29, 0, 0, tzinfo=BRUSSELS), "28-3-2027"),  # after a 23-hour day
    (datetime(2026, 10, 26, 0, 0, tzinfo=BRUSSELS), "25-10-2026"),  # after a 25-hour day
])
def test_the_last_day_is_the_brussels_day_before_the_expiry_midnight(expires_at, last_day):
    assert last_day_nl(expires_at) == last_day


@pytest.mark.parametrize("name, html", [
    ("mededeling-netbeheer.csv", "mededeling-<wbr>netbeheer.<wbr>csv"),
    ("a_b--c.txt", "a_<wbr>b--<wbr>c.<wbr>txt"),
    ("zonder", "zonder"),
    ("<script>-x&.csv", "&lt;script&gt;-<wbr>x&amp;.<wbr>csv"),
])
def test_file_names_may_wrap_after_dashes_underscores_and_dots_and_stay_escaped(name, html):
    assert str(breakable(name)) == html


def test_the_breakable_filter_is_safe_under_autoescape():
    env = Environment(autoescape=select_autoescape(default_for_string=True))
    env.filters["breakable"] = breakable
    rendered = env.from_string("<label>{{ name | breakable }}</label>").render(name='"><img src=x>-a.csv')
    assert rendered == "<label>&#34;&gt;&lt;img src=x&gt;-<wbr>a.<wbr>csv</label>"
