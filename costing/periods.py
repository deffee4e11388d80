"""Report periods: today|yesterday|week|month|FROM..TO in the configured timezone.

The period words are the one grammar of the CLI and the chat: same words, same default, same help.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from costing.errors import BadPeriodError

DEFAULT_PERIOD = "today"
PERIOD_WORDS = {
    "today": "from local midnight until now",
    "yesterday": "the whole previous local day",
    "week": "the last 7 local days, today included (rolling, not a calendar week)",
    "month": "this calendar month until now",
}
PERIOD_HELP = (
    "; ".join(f"{word}: {meaning}" for word, meaning in PERIOD_WORDS.items())
    + "; or FROM..TO (YYYY-MM-DD..YYYY-MM-DD, both days included). Days are local to "
    + f"aggregation.timezone. Default: {DEFAULT_PERIOD}."
)
PERIOD_SHORT = "today, yesterday, week (last 7 days), month (this month so far), or FROM..TO"
PERIOD_SHAPES = "today|yesterday|week|month|YYYY-MM-DD..YYYY-MM-DD"


@dataclass(frozen=True)
class Period:
    """A half-open UTC interval [start, end) with the timezone its days are counted in."""

    start: datetime
    end: datetime
    timezone: str = "UTC"
    # Where the period would end if now did not cut it (None: it is not cut, or unknown).
    full_end: datetime | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def days(self) -> float:
        return self.hours / 24

    def local_day(self, moment: datetime) -> date:
        """The calendar day of a UTC moment in the period's timezone."""
        return moment.astimezone(self.zone).date()

    def midnights(self) -> list[datetime]:
        """Every local midnight strictly inside the period, as UTC."""
        day = self.local_day(self.start) + timedelta(days=1)
        found = []
        while (moment := _midnight(day, self.zone)) < self.end:
            found.append(moment)
            day += timedelta(days=1)
        return found


def zone_of(name: str) -> ZoneInfo:
    """A timezone by IANA name; BadPeriodError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadPeriodError(f"unknown timezone {name!r}") from None


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def parse_period(text: str, *, now: datetime, timezone: str = "UTC") -> Period:
    """Parse a period name or FROM..TO (ISO dates, TO inclusive); periods end no later than now."""
    zone = zone_of(timezone)
    today = now.astimezone(zone).date()
    name = text.strip().lower()
    named = {
        "today": (today, today),
        "yesterday": (today - timedelta(days=1), today - timedelta(days=1)),
        "week": (today - timedelta(days=6), today),
        "month": (today.replace(day=1), today),
    }
    first, last = named[name] if name in named else _parse_range(text)
    start = _midnight(first, zone)
    full_end = _midnight(last + timedelta(days=1), zone)
    end = min(full_end, now)
    if end <= start:
        raise BadPeriodError(f"period {text!r} lies in the future (now is {now.isoformat()})")
    return Period(start, end, timezone, full_end if full_end > end else None)


def day_window(period: Period) -> Period:
    """The period's whole local days; when it holds none (e.g. `today`), the whole local day
    before its end. Rates per day are taken over this window, never over minutes of a day."""
    zone = period.zone
    bounds = [m for m in (period.start, period.end) if _is_midnight(m, zone)]
    inner = sorted({*period.midnights(), *bounds})
    if len(inner) >= 2:
        return Period(inner[0], inner[-1], period.timezone)
    last = period.local_day(period.end)
    if _is_midnight(period.end, zone):
        last -= timedelta(days=1)
    return Period(_midnight(last - timedelta(days=1), zone), _midnight(last, zone), period.timezone)


def _is_midnight(moment: datetime, zone: ZoneInfo) -> bool:
    return moment.astimezone(zone).time() == time(0)


def _parse_range(text: str) -> tuple[date, date]:
    first_text, sep, last_text = text.strip().partition("..")
    if not sep:
        raise BadPeriodError(f"bad period {text!r}: expected {PERIOD_SHAPES}")
    try:
        first, last = date.fromisoformat(first_text), date.fromisoformat(last_text)
    except ValueError:
        raise BadPeriodError(f"bad period {text!r}: dates must be YYYY-MM-DD") from None
    if last < first:
        raise BadPeriodError(f"bad period {text!r}: TO is before FROM")
    return first, last
