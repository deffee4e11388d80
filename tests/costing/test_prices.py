from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from costing.errors import PriceKeyError
from costing.prices import PriceBook, Prices, load_versions, set_price, sync_from_settings
from costing.settings import PriceSettings
from storage.db import SessionFactory


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


def test_settings_become_a_version_once_and_again_when_they_change(
    sessions: SessionFactory, now: datetime
) -> None:
    settings = PriceSettings()
    assert sync_from_settings(sessions, settings=settings, now=now) is not None
    assert sync_from_settings(sessions, settings=settings, now=now) is None
    cheaper = PriceSettings(electricity_kwh=settings.electricity_kwh / 2)
    later = now + timedelta(days=1)
    assert sync_from_settings(sessions, settings=cheaper, now=later) is not None
    versions = load_versions(sessions)
    assert [v.valid_from for v in versions] == [now, later]
    assert versions[-1].prices.electricity_kwh == cheaper.electricity_kwh


def test_lookup_returns_the_version_valid_at_a_time(
    sessions: SessionFactory, now: datetime
) -> None:
    defaults = PriceSettings()
    sync_from_settings(sessions, settings=defaults, now=now)
    later = now + timedelta(hours=2)
    set_price(sessions, key="pue", value="1.2", now=later, changed_by="test", defaults=defaults)
    book = PriceBook(sessions, defaults=defaults)
    assert book.sheet_at(now - timedelta(seconds=1)).id is None  # before any version: defaults
    assert book.sheet_at(now).prices.pue == defaults.pue
    assert book.sheet_at(later - timedelta(microseconds=1)).prices.pue == defaults.pue
    assert book.sheet_at(later).prices.pue == Decimal("1.2")
    assert book.sheet_at(later).changed_by == "test"


def test_a_price_set_keeps_the_other_prices(sessions: SessionFactory, now: datetime) -> None:
    defaults = PriceSettings()
    set_price(sessions, key="gpu_hour", value="2.5", now=now, changed_by="a", defaults=defaults)
    set_price(
        sessions, key="pue", value="1.1", now=now + timedelta(1), changed_by="b", defaults=defaults
    )
    latest = load_versions(sessions)[-1].prices
    assert (latest.gpu_hour, latest.pue) == (Decimal("2.5"), Decimal("1.1"))


def test_the_cache_reads_new_versions_only_after_its_ttl(
    sessions: SessionFactory, now: datetime
) -> None:
    defaults, clock = PriceSettings(), FakeClock()
    book = PriceBook(sessions, defaults=defaults, ttl_s=60, clock=clock)
    assert book.sheet_at(now).id is None
    set_price(sessions, key="pue", value="1.3", now=now, changed_by="t", defaults=defaults)
    assert book.sheet_at(now).id is None
    clock.value = 61
    assert book.sheet_at(now).prices.pue == Decimal("1.3")


@pytest.mark.parametrize(("key", "value"), [("bogus", "1"), ("pue", "abc"), ("pue", "0.5")])
def test_bad_price_changes_are_refused(
    sessions: SessionFactory, now: datetime, key: str, value: str
) -> None:
    with pytest.raises(PriceKeyError):
        set_price(sessions, key=key, value=value, now=now, changed_by="t", defaults=PriceSettings())
    assert load_versions(sessions) == []


def test_prices_round_trip_through_json() -> None:
    prices = Prices.from_settings(PriceSettings(hardware="owned", currency="EUR"))
    assert Prices.from_json(prices.to_json()) == prices
