"""Prices a batch's measurement with the price sheet valid at the time, surviving DB outages."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from costing.cost_model import CostBreakdown, price_measurement
from costing.measurement import Measurement
from costing.prices import PriceBook, Prices

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PricedBatch:
    """A batch's cost and the sheet that priced it."""

    cost: CostBreakdown
    currency: str
    price_sheet_id: int | None


class BatchPricer:
    """Looks the sheet up in the price book; while the database is down, the last one found."""

    def __init__(self, book: PriceBook | None, *, fallback: Prices) -> None:
        self._book = book
        self._last: tuple[Prices, int | None] = (fallback, None)

    def price(self, measurement: Measurement, *, at: datetime) -> PricedBatch:
        """Price one batch's measurement."""
        prices, sheet_id = self._sheet_at(at)
        return PricedBatch(price_measurement(measurement, prices), prices.currency, sheet_id)

    def _sheet_at(self, when: datetime) -> tuple[Prices, int | None]:
        if self._book is None:
            return self._last
        try:
            version = self._book.sheet_at(when)
        except SQLAlchemyError as error:
            log.warning("price lookup failed (%s): last sheet used", type(error).__name__)
            return self._last
        self._last = (version.prices, version.id)
        return self._last
