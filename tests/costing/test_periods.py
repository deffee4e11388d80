from __future__ import annotations

from datetime import timedelta

import pytest

from costing.errors import BadPeriodError
from costing.periods import parse_period
from tests.factories import at

NOW = at("2026-03-29T12:00")


def test_named_periods_in_utc() -> None:
    assert parse_period("today", now=NOW).start == at("2026-03-29T00:00")
    assert parse_period("today", now=NOW).end == NOW
    yesterday = parse_period("yesterday", now=NOW)
    assert (yesterday.start, yesterday.end) == (at("2026-03-28T00:00"), at("2026-03-29T00:00"))
    assert parse_period("week", now=NOW).start == at("2026-03-23T00:00")
    assert parse_period("month", now=NOW).start == at("2026-03-01T00:00")


def test_a_range_includes_its_last_day_in_the_configured_timezone() -> None:
    period = parse_period("2026-03-01..2026-03-02", now=NOW, timezone="Asia/Kolkata")
    assert period.start == at("2026-02-28T18:30")
    assert period.end == at("2026-03-02T18:30")
    assert period.midnights() == [at("2026-03-01T18:30")]


def test_days_follow_daylight_saving() -> None:
    period = parse_period("today", now=NOW, timezone="Europe/Berlin")  # DST began 03:00 today
    assert period.start == at("2026-03-28T23:00")
    assert parse_period("yesterday", now=NOW, timezone="Europe/Berlin").hours == 24


@pytest.mark.parametrize(
    "text",
    ["fortnight", "2026-03-05..2026-03-01", "2026-13-01..2026-13-02", "2027-01-01..2027-01-02"],
)
def test_bad_periods_raise_a_value_error(text: str) -> None:
    with pytest.raises(BadPeriodError) as raised:
        parse_period(text, now=NOW)
    assert isinstance(raised.value, ValueError)


def test_an_unknown_timezone_is_a_clear_error() -> None:
    with pytest.raises(BadPeriodError, match="timezone"):
        parse_period("today", now=NOW, timezone="Mars/Olympus")


def test_period_end_is_capped_at_now() -> None:
    assert parse_period("2026-03-01..2026-04-30", now=NOW).end == NOW
    assert parse_period("week", now=NOW).days == pytest.approx(6.5)
    assert parse_period("yesterday", now=NOW + timedelta(days=1)).end == at("2026-03-30T00:00")
