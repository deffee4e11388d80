"""The demo's month: add it (costbot.demo.month), then print what the alerts said on the way, the
forecast, ROI and what-if at its end, and write its charts. Every figure comes from the same
functions as `costbot forecast|roi|whatif`; the clock is the simulated one, so two runs print
the same."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine

from bot.forecast_alerts import post_forecast_alerts
from bot.replies import Reply
from bot.summaries import alert_reply
from costbot.cli.outlook import lines_table
from costbot.cli.tables import roi_table
from costbot.demo.month import DAYS, SPIKE_DAY, MonthEvents, add_month
from costing.budgets import pending_alerts
from costing.cost_report import cost_report
from costing.forecast import Forecast, ForecastInputs, forecast
from costing.jobs import run_job
from costing.outcomes import conversation_outcomes
from costing.outlook_charts import (
    PaybackSeries,
    forecast_chart,
    outcomes_per_week_chart,
    payback_chart,
)
from costing.outlook_lines import forecast_lines, whatif_lines
from costing.periods import Period
from costing.prices import PriceBook
from costing.roi_report import RoiReport, daily_value_and_cost, roi_report
from costing.settings import CostingSettings
from costing.whatif import WhatIf
from costing.whatif_report import whatif_report
from storage.db import SessionFactory

ALERT_CHECK = timedelta(days=SPIKE_DAY + 1, hours=18)  # the alerts job, the day after the spike
REPORT_AT = timedelta(days=DAYS + 1, hours=12)  # the day after the month, at noon


@dataclass(frozen=True)
class MonthResult:
    """What the month showed, for the printout and tests."""

    events: MonthEvents
    alerts: tuple[Reply, ...]
    forecast: Forecast
    roi: RoiReport
    whatif: WhatIf
    payback: PaybackSeries
    charts: tuple[Path, ...]


class _Printed:
    """A poster that prints each alert (the demo has no Discord channel)."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []

    async def __call__(self, channel_id: int, reply: Reply) -> int:
        self.replies.append(reply)
        return len(self.replies)


def run_month(
    engine: Engine,
    sessions: SessionFactory,
    *,
    settings: CostingSettings,
    day: datetime,
    workdir: Path,
) -> MonthResult:
    """Add the month after the support day and answer for it."""
    events = add_month(engine, sessions, settings=settings, day=day)
    printed = _Printed()
    asyncio.run(
        post_forecast_alerts(
            poster=printed,
            session_factory=sessions,
            costing=settings,
            channel_ids=[0],
            now=day + ALERT_CHECK,
        )
    )
    now = day + REPORT_AT
    run_job(sessions, now=now, timezone=settings.timezone)  # the budget's threshold alerts
    budget = tuple(alert_reply(a) for a in pending_alerts(sessions))
    return _answers(
        sessions,
        settings=settings,
        day=day,
        now=now,
        events=events,
        alerts=(*printed.replies, *budget),
        workdir=workdir,
    )


def _answers(
    sessions: SessionFactory,
    *,
    settings: CostingSettings,
    day: datetime,
    now: datetime,
    events: MonthEvents,
    alerts: tuple[Reply, ...],
    workdir: Path,
) -> MonthResult:
    book = PriceBook(sessions, defaults=settings.prices)
    period = Period(day + timedelta(days=1), day + timedelta(days=DAYS + 1), settings.timezone)
    currency = book.sheet_at(now).prices.currency
    # The month's days only: the measured support day before them differs between runs.
    history = settings.forecast.model_copy(update={"history_days": DAYS})
    inputs = ForecastInputs(sessions, history, now, settings.timezone, currency)
    answer = forecast(inputs, period="30d")
    roi = roi_report(sessions, period=period, now=now, prices=book, roi_settings=settings.roi)
    whatif = whatif_report(sessions, period=period, now=now, prices=book, settings=settings)
    payback = _payback(sessions, period=period, now=now, book=book, settings=settings, roi=roi)
    charts = _charts(
        sessions,
        period=period,
        now=now,
        book=book,
        answer=answer,
        payback=payback,
        settings=settings,
        workdir=workdir,
    )
    return MonthResult(events, alerts, answer, roi, whatif, payback, charts)


def _payback(
    sessions: SessionFactory,
    *,
    period: Period,
    now: datetime,
    book: PriceBook,
    settings: CostingSettings,
    roi: RoiReport,
) -> PaybackSeries:
    points = daily_value_and_cost(
        sessions, period=period, now=now, prices=book, roi_settings=settings.roi
    )
    by_day = cost_report(sessions, period=period, group_by="day", now=now, prices=book)
    cost = {g.key: float(g.total.amount) for g in by_day.groups}
    return PaybackSeries(
        days=tuple(p.day for p in points),
        value=tuple(float(p.value.amount) for p in points),
        cost=tuple(cost.get(p.day.isoformat(), 0.0) for p in points),
        one_off=float(roi.training_total.amount),
        currency=roi.currency,
    )


def _charts(
    sessions: SessionFactory,
    *,
    period: Period,
    now: datetime,
    book: PriceBook,
    answer: Forecast,
    payback: PaybackSeries,
    settings: CostingSettings,
    workdir: Path,
) -> tuple[Path, ...]:
    paths = tuple(
        workdir / name
        for name in ("month-cost-forecast.png", "month-value-vs-cost.png", "month-outcomes.png")
    )
    by_day = cost_report(sessions, period=period, group_by="day", now=now, prices=book)
    history = [(date.fromisoformat(g.key), float(g.total.amount)) for g in by_day.groups]
    forecast_chart(history, answer, path=paths[0])
    payback_chart(payback, path=paths[1])
    outcomes_per_week_chart(
        _weeks(sessions, period=period, now=now, settings=settings), path=paths[2]
    )
    return paths


def _weeks(
    sessions: SessionFactory, *, period: Period, now: datetime, settings: CostingSettings
) -> list[tuple[str, dict[str, int]]]:
    convs = conversation_outcomes(
        sessions, period=period, now=now, window=settings.roi.recontact_window
    )
    first = period.local_day(period.start)
    weeks: list[tuple[str, dict[str, int]]] = []
    for index in range(DAYS // 7):
        start = first + timedelta(days=7 * index)
        counts: dict[str, int] = {}
        for conv in convs:
            if (period.local_day(conv.opened_at) - start).days in range(7):
                counts[conv.outcome] = counts.get(conv.outcome, 0) + 1
        weeks.append((f"week of {start}", counts))
    return weeks


def print_month(result: MonthResult, console: Console) -> None:
    """The month's events and alerts, then forecast, ROI and what-if, and the charts."""
    e = result.events
    console.print(
        f"\nThe month after the support day ({DAYS} days; synthesized from it, seeded): "
        f"service outage {e.outage[0]:%Y-%m-%d %H:%M}–{e.outage[1]:%H:%M} UTC, price change "
        f"{e.price_change:%Y-%m-%d}, a flood of calls {e.spike:%Y-%m-%d %H:%M}, monthly "
        f"budget {e.budget_limit.amount.normalize()} {result.roi.currency}."
    )
    for reply in result.alerts:
        console.print(f"[bold]alert:[/bold] {reply.title}\n  {reply.text}")
    title = "Forecast for the next 30 days, after the month"
    console.print(lines_table(forecast_lines(result.forecast), title=title))
    console.print(roi_table(result.roi, title="Does the bot pay? (the month)"))
    payback = result.payback.payback_day()
    console.print(f"payback day on the chart: {payback or 'not within the month'}")
    title = f"What if (the month, per 1,000 messages, {result.whatif.workload.currency})"
    console.print(lines_table(whatif_lines(result.whatif), title=title))
    for chart in result.charts:
        console.print(f"chart: {chart}")
