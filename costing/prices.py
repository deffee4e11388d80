"""Price sheets: settings-derived prices, stored as versions, looked up by time (cached).

A sheet holds what turns measurements into money (compute, energy, hardware, data) and what a
message is worth (the human ticket cost, a price per call), so a past figure keeps the prices it
was computed with.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from costing.errors import CurrencyMixError, PriceKeyError
from costing.settings import PriceSettings
from storage.db import SessionFactory, session_scope
from storage.tables import PriceSheet

HOURS_PER_YEAR = Decimal("8766")  # 365.25 days
SETTINGS_AUTHOR = "settings"


@dataclass(frozen=True)
class Prices:
    """One set of prices (a sheet's content); amounts in ``currency``."""

    currency: str
    hardware: str
    cpu_core_hour: Decimal
    gpu_hour: Decimal
    purchase_price: Decimal
    lifetime_years: Decimal
    expected_utilisation: Decimal
    electricity_kwh: Decimal
    pue: Decimal
    grid_gco2_kwh: Decimal
    data_collection_per_item: Decimal
    data_annotation_per_label: Decimal
    data_storage_gb_month: Decimal
    human_ticket_cost: Decimal
    price_per_call: Decimal | None
    instance_hour: Decimal | None = None

    @classmethod
    def from_settings(cls, settings: PriceSettings) -> Prices:
        """The prices configured in settings."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})

    @property
    def owned(self) -> bool:
        return self.hardware == "owned"

    @property
    def hardware_hour(self) -> Decimal:
        """Owned hardware amortised per busy hour: price / (lifetime hours × utilisation)."""
        busy_hours = self.lifetime_years * HOURS_PER_YEAR * self.expected_utilisation
        return self.purchase_price / busy_hours

    @property
    def calendar_hour(self) -> Decimal:
        """Owned hardware cost per calendar hour, busy or idle: price / lifetime hours."""
        return self.purchase_price / (self.lifetime_years * HOURS_PER_YEAR)

    @property
    def paid_hour(self) -> Decimal:
        """What the machine costs per calendar hour, busy or idle: owned, its calendar hour;
        cloud, the configured instance price (0 when none is set)."""
        if self.owned:
            return self.calendar_hour
        return self.instance_hour or Decimal(0)

    def to_json(self) -> dict[str, str | None]:
        """Every price as a string (exact decimals survive JSON); an unset price as None."""
        return {f.name: _text(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any], *, defaults: PriceSettings | None = None) -> Prices:
        """Inverse of to_json; keys missing from an old sheet take the configured defaults."""
        base = cls.from_settings(defaults or PriceSettings())
        return base.with_values({k: _text(v) for k, v in data.items() if k in _KEYS})

    def with_values(self, values: dict[str, str | None]) -> Prices:
        """A copy with some prices changed, validated as settings would validate them."""
        unknown = sorted(set(values) - _KEYS)
        if unknown:
            known = ", ".join(sorted(_KEYS))
            raise PriceKeyError(f"unknown price key {unknown[0]!r}; known: {known}")
        merged = {**self.to_json(), **values}
        try:
            return Prices.from_settings(PriceSettings(**merged))
        except ValueError as error:
            first = str(error).splitlines()
            raise PriceKeyError(f"invalid price: {' '.join(first[:3])}") from None


_KEYS = frozenset(f.name for f in fields(Prices))
PRICE_KEYS = tuple(f.name for f in fields(Prices) if f.name not in ("currency", "hardware"))


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True)
class SheetVersion:
    """A stored version of the prices, valid from a time until the next version."""

    id: int | None
    valid_from: datetime
    prices: Prices
    changed_by: str


def _version(row: PriceSheet, defaults: PriceSettings | None = None) -> SheetVersion:
    return SheetVersion(
        id=row.id,
        valid_from=row.valid_from,
        prices=Prices.from_json({**row.prices, "currency": row.currency}, defaults=defaults),
        changed_by=row.changed_by,
    )


def load_versions(
    session_factory: SessionFactory, *, defaults: PriceSettings | None = None
) -> list[SheetVersion]:
    """Every stored version, oldest first (keys an old version lacks: the configured defaults)."""
    with session_scope(session_factory) as session:
        query = select(PriceSheet).order_by(col(PriceSheet.valid_from), col(PriceSheet.id))
        return [_version(row, defaults) for row in session.exec(query)]


def store_version(
    session_factory: SessionFactory, *, prices: Prices, valid_from: datetime, changed_by: str
) -> SheetVersion:
    """Store a new version of the prices."""
    row = PriceSheet(
        valid_from=valid_from,
        currency=prices.currency,
        prices=prices.to_json(),
        changed_by=changed_by,
        created_at=valid_from,
    )
    with session_scope(session_factory) as session:
        session.add(row)
        session.flush()
        return _version(row)


def sync_from_settings(
    session_factory: SessionFactory, *, settings: PriceSettings, now: datetime
) -> SheetVersion | None:
    """Store the settings' prices as a version if they differ from the last settings version."""
    prices = Prices.from_settings(settings)
    versions = load_versions(session_factory, defaults=settings)
    from_settings = [v for v in versions if v.changed_by == SETTINGS_AUTHOR]
    if from_settings and from_settings[-1].prices == prices:
        return None
    return store_version(session_factory, prices=prices, valid_from=now, changed_by=SETTINGS_AUTHOR)


def set_price(
    session_factory: SessionFactory,
    *,
    key: str,
    value: str,
    now: datetime,
    changed_by: str,
    defaults: PriceSettings,
) -> SheetVersion:
    """Change one price from ``now`` on: a new version holding the current prices plus it."""
    current = PriceBook(session_factory, defaults=defaults).sheet_at(now)
    prices = current.prices.with_values({key: value})
    return store_version(session_factory, prices=prices, valid_from=now, changed_by=changed_by)


class PriceBook:
    """The version valid at a time; versions are cached and reloaded after ``ttl_s``."""

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        defaults: PriceSettings,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._defaults = defaults
        epoch = datetime.min.replace(tzinfo=UTC)
        self._fallback = SheetVersion(None, epoch, Prices.from_settings(defaults), SETTINGS_AUTHOR)
        self._ttl_s = ttl_s
        self._clock = clock
        self._loaded_at: float | None = None
        self._versions: list[SheetVersion] = []
        self._starts: list[datetime] = []

    def sheet_at(self, when: datetime) -> SheetVersion:
        """The version valid at ``when`` (settings defaults before the first version)."""
        self._refresh_if_stale()
        index = bisect.bisect_right(self._starts, when) - 1
        return self._versions[index] if index >= 0 else self._fallback

    def segments(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime, Prices]]:
        """The (from, to, prices) segments that cover [start, end)."""
        self._refresh_if_stale()
        cuts = [start, *(s for s in self._starts if start < s < end), end]
        return [(a, b, self.sheet_at(a).prices) for a, b in itertools.pairwise(cuts)]

    def currency(self, start: datetime, end: datetime) -> str:
        """The one currency of the prices valid in [start, end); CurrencyMixError when they
        changed currency there (a report never sums two currencies under one label)."""
        found = list(dict.fromkeys(sheet.currency for _, _, sheet in self.segments(start, end)))
        if len(found) > 1:
            raise CurrencyMixError(
                f"the prices changed currency in this period ({' then '.join(found)}): "
                "ask for a period that lies within one currency"
            )
        return found[0]

    def invalidate(self) -> None:
        """Forget the cache; the next lookup reads the versions again."""
        self._loaded_at = None

    def _refresh_if_stale(self) -> None:
        now = self._clock()
        if self._loaded_at is not None and now - self._loaded_at < self._ttl_s:
            return
        self._versions = load_versions(self._session_factory, defaults=self._defaults)
        self._starts = [v.valid_from for v in self._versions]
        self._loaded_at = now


def replace_prices(prices: Prices, **changes: Any) -> Prices:
    """A copy of prices with fields changed (for tests and what-if reports)."""
    return replace(prices, **changes)
