"""Charts over weeks (PNG bytes): cost per day with the forecast band, cumulative value against
cost with the payback point marked, conversation outcomes per week. Each says under its axes
where its figures came from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from costing.charts import _figure, _png, _provenance
from costing.forecast import Forecast
from costing.outcomes import OUTCOME_NAMES

OUTCOME_COLOURS = {
    "confirmed": "#2E7D32",
    "contained": "#66BB6A",
    "reopened": "#EF6C00",
    "escalated": "#C62828",
    "pending": "#9E9E9E",
}


def forecast_chart(
    history: Sequence[tuple[date, float]], answer: Forecast, *, path: Path | None = None
) -> bytes:
    """Bars of cost per day (measured), then the forecast's daily line and its band."""
    figure = _figure()
    axes = figure.subplots()
    days: Any = [d for d, _ in history]
    axes.bar(days, [v for _, v in history], color="#4C72B0", label="cost per day (measured)")
    p = answer.projection
    ahead: Any = [answer.today + timedelta(days=i) for i in range(len(p.daily))]
    axes.plot(ahead, p.daily, color="#DD8452", marker=".", label=f"forecast ({p.method.key})")
    axes.fill_between(
        ahead,
        p.daily_low,
        p.daily_high,
        color="#DD8452",
        alpha=0.25,
        label=f"{answer.interval_pct}% band",
    )
    axes.set_title(f"Cost per day and forecast ({answer.currency})")
    axes.set_ylabel(answer.currency)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    mape = "n/a" if p.backtest_mape is None else f"{p.backtest_mape:.1f}%"
    _provenance(
        figure,
        f"bars: inference records per local day (measured time × price sheet); forecast from "
        f"{answer.today}: {p.method.description}, backtest MAPE {mape} (7-day-ahead); "
        "today's point is its part still to come.",
    )
    figure.autofmt_xdate()
    return _png(figure, path)


@dataclass(frozen=True)
class PaybackSeries:
    """Per day: measured value and operating cost; the one-off cost paid before day one."""

    days: tuple[date, ...]
    value: tuple[float, ...]
    cost: tuple[float, ...]
    one_off: float
    currency: str

    def cumulative(self) -> tuple[list[float], list[float]]:
        """Cumulative value, and cumulative cost starting from the one-off."""
        value = list(accumulate(self.value))
        cost = list(accumulate(self.cost, initial=self.one_off))[1:]
        return value, cost

    def payback_day(self) -> date | None:
        """The first day cumulative value reaches cumulative cost, or None."""
        value, cost = self.cumulative()
        return next((d for d, v, c in zip(self.days, value, cost, strict=True) if v >= c), None)


def payback_chart(series: PaybackSeries, *, path: Path | None = None) -> bytes:
    """Cumulative value against cumulative cost, with the payback day marked."""
    figure = _figure()
    axes = figure.subplots()
    days: Any = list(series.days)
    value, cost = series.cumulative()
    axes.plot(days, value, color="#55A868", label="cumulative value (confirmed + contained)")
    axes.plot(days, cost, color="#C44E52", label="cumulative cost (one-off + inference)")
    payback = series.payback_day()
    if payback is not None:
        y = value[series.days.index(payback)]
        at: Any = payback  # matplotlib plots dates; its stubs say numbers
        axes.axvline(at, color="#333333", linestyle=":", linewidth=1)
        axes.annotate(f"payback {payback}", (at, y), textcoords="offset points", xytext=(8, -14))
        axes.plot([at], [y], marker="o", color="#333333")
    axes.set_title(f"Value vs cost, cumulative ({series.currency})")
    axes.set_ylabel(series.currency)
    axes.legend(loc="upper left")
    _provenance(
        figure,
        f"{series.days[0]} to {series.days[-1]}: value = conversations confirmed or contained "
        "(measured) × human ticket cost (configured); cost = the deployed model's training "
        f"and data ({series.one_off:.2f} {series.currency}, one-off, before day one) + "
        "inference records (measured).",
    )
    figure.autofmt_xdate()
    return _png(figure, path)


def outcomes_per_week_chart(
    weeks: Sequence[tuple[str, dict[str, int]]], *, path: Path | None = None
) -> bytes:
    """Stacked bars of conversation outcomes per week (label: the week's first day)."""
    figure = _figure()
    axes = figure.subplots()
    labels = [label for label, _ in weeks]
    bottom = [0] * len(weeks)
    for name in OUTCOME_NAMES:
        heights = [counts.get(name, 0) for _, counts in weeks]
        colour = OUTCOME_COLOURS.get(name, "#777777")
        axes.bar(labels, heights, bottom=bottom, label=name, color=colour)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title("Support conversations per week, by outcome")
    axes.set_ylabel("conversations")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _provenance(
        figure,
        "measured: conversations by the week they opened in; outcome from the customer's "
        "feedback, a person's handoff, or no re-contact within the window (costing.outcomes).",
    )
    return _png(figure, path)
