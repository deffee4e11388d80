"""The what-if for a period from stored records: reads the workload, prices the options."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from costing.cost_report import resolve_period
from costing.periods import Period, day_window
from costing.prices import PriceBook
from costing.readers import read_totals
from costing.roi_report import roi_report
from costing.settings import CostingSettings
from costing.units import Money
from costing.whatif import WhatIf, Workload, benchmark_throughput, what_if
from storage.db import SessionFactory


def read_workload(
    session_factory: SessionFactory,
    *,
    period: str | Period,
    now: datetime,
    prices: PriceBook,
    settings: CostingSettings,
) -> Workload:
    """The period's messages, characters and costs (ROI's idle and amortisation as fixed)."""
    window = resolve_period(period, now=now, timezone=settings.timezone)
    report = roi_report(
        session_factory,
        period=window,
        now=now,
        prices=prices,
        roi_settings=settings.roi,
        timezone=settings.timezone,
    )
    chars = sum(t.input_chars for t in read_totals(session_factory, period=window).values())
    return Workload(
        messages=report.calls,
        input_chars=chars,
        days=Decimal(str(_days(window))),
        variable_cost=_amount(report.inference_cost),
        fixed_cost=_amount(report.idle + report.training_amortised),
        currency=report.currency,
    )


def _days(window: Period) -> float:
    """The period's length in days; a period shorter than a day counts as the day it is in."""
    return window.days if window.days >= 1 else day_window(window).days


def _amount(money: Money) -> Decimal:
    return money.amount


def whatif_report(
    session_factory: SessionFactory,
    *,
    period: str | Period,
    now: datetime,
    prices: PriceBook,
    settings: CostingSettings,
) -> WhatIf:
    """The what-if of a period (`costbot whatif`, `/whatif`)."""
    work = read_workload(session_factory, period=period, now=now, prices=prices, settings=settings)
    return what_if(
        work,
        prices=prices.sheet_at(now).prices,
        settings=settings.whatif,
        throughput=benchmark_throughput(settings.whatif.gpu_benchmark),
    )
