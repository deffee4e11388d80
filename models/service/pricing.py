"""Prices a batch's measurement with the price sheet valid at the time, never waiting on the
database: a background thread reloads the price book, and batches use the last one loaded."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from costing.cost_model import CostBreakdown, price_measurement
from costing.measurement import Measurement
from costing.prices import PriceBook, Prices
from storage.types import utc_now

log = logging.getLogger(__name__)
# Builds and loads a fresh price book (blocking; run off the forward path).
BookLoader = Callable[[], PriceBook]


@dataclass(frozen=True)
class PricedBatch:
    """A batch's cost and the sheet that priced it."""

    cost: CostBreakdown
    currency: str
    price_sheet_id: int | None


class BatchPricer:
    """Prices from the last price book loaded; `refresh` (off the forward path) loads anew."""

    def __init__(self, load: BookLoader | None, *, fallback: Prices) -> None:
        self._load = load
        self._fallback = fallback
        self._book: PriceBook | None = None
        self.loaded_at: float | None = None  # monotonic time of the last good load
        self.attempted = threading.Event()  # set once the first load has succeeded or failed

    def price(self, measurement: Measurement, *, at: datetime) -> PricedBatch:
        """Price one batch's measurement (no database access)."""
        prices, sheet_id = self._sheet_at(at)
        return PricedBatch(price_measurement(measurement, prices), prices.currency, sheet_id)

    def refresh(self) -> bool:
        """Load the price book again; on failure keep the last one. True when it loaded."""
        if self._load is None:
            return False
        try:
            book = self._load()
            book.sheet_at(utc_now())  # reads the versions now
        except SQLAlchemyError as error:
            log.warning("price sheets not reloaded (%s): last sheet kept", type(error).__name__)
            return False
        finally:
            self.attempted.set()
        self._book, self.loaded_at = book, time.monotonic()
        return True

    def _sheet_at(self, when: datetime) -> tuple[Prices, int | None]:
        book = self._book
        if book is None:
            return self._fallback, None
        version = book.sheet_at(when)  # loaded with an endless cache: never reads the database
        return version.prices, version.id


class PriceRefresher:
    """A daemon thread that refreshes a pricer every `interval_s` until stopped."""

    def __init__(self, pricer: BatchPricer, *, interval_s: float, first: Callable[[], None]):
        self._pricer = pricer
        self._interval_s = interval_s
        self._first = first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="costbot-prices", daemon=True)

    def start(self) -> PriceRefresher:
        """Start refreshing (the first refresh runs at once)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the refresh in progress, if any (never waits for a hung database)."""
        self._stop.set()

    def _run(self) -> None:
        synced = False
        while not self._stop.is_set():
            if not synced:
                synced = _attempt(self._first)
            ok = self._pricer.refresh()
            self._stop.wait(self._interval_s if ok else min(5.0, self._interval_s))


def _attempt(work: Callable[[], None]) -> bool:
    try:
        work()
    except SQLAlchemyError as error:
        log.warning("price sheet not synchronised (%s): database unavailable", type(error).__name__)
        return False
    return True
