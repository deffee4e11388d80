"""Charts as PNG bytes (matplotlib, Agg backend): cost per day by component; value vs cost.

Each chart names, under its axes, where what it plots came from.
"""

from __future__ import annotations

import io
from datetime import timedelta
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costing import figures
from costing.cost_report import CostReport
from costing.roi_report import DayPoint

if TYPE_CHECKING:  # matplotlib loads when a chart is drawn: every CLI command imports this module
    from matplotlib.figure import Figure

COMPONENT_COLOURS = {
    "compute": "#4C72B0",
    "energy": "#DD8452",
    "hardware": "#55A868",
    "data": "#8172B3",
}


VALUE_SOURCE = (
    "value: resolved messages (measured) × human ticket cost (price sheet, configured); "
    "cost: inference records + idle owned hardware + training runs amortised"
)


def _provenance(figure: Figure, text: str) -> None:
    """Say under the axes where the plotted figures came from."""
    figure.text(0.01, -0.04, text, fontsize=7, color="#555555", ha="left", va="top", wrap=True)


def _png(figure: Figure, path: Path | None) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(figure)  # the Agg backend, without pyplot's global state
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    data = buffer.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data


def _figure() -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(8, 4))


def cost_source(report: CostReport) -> str:
    """Where the cost chart's figures came from, as printed under it."""
    return (
        f"{report.total.count:,} inference records, "
        f"{figures.period(report.start, report.end, report.timezone)}: measured time and "
        f"{report.total.energy_source} energy × configured prices (price sheet); "
        f"total {figures.money(report.total.total, report.currency)}."
    )


def cost_per_day_chart(report: CostReport, *, path: Path | None = None) -> bytes:
    """Stacked bars of cost per day by component (a report grouped by day)."""
    if report.group_by != "day":
        raise ValueError("cost_per_day_chart needs a report grouped by day")
    figure = _figure()
    axes = figure.subplots()
    days = [line.key for line in report.groups]
    bottom = [0.0] * len(days)
    for name, colour in COMPONENT_COLOURS.items():
        heights = [float(getattr(line, name).amount) for line in report.groups]
        axes.bar(days, heights, bottom=bottom, label=name, color=colour)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title(f"Inference cost per day ({report.currency}), by component")
    axes.set_ylabel(report.currency)
    _provenance(figure, cost_source(report))
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes.tick_params(axis="x", labelrotation=45)
    return _png(figure, path)


def value_vs_cost_chart(
    points: tuple[DayPoint, ...], *, currency: str = "USD", path: Path | None = None
) -> bytes:
    """Cumulative value of resolved messages against cumulative cost, per day."""
    figure = _figure()
    axes = figure.subplots()
    days: Any = [p.day for p in points]  # matplotlib plots dates; its stubs say numbers
    value = list(accumulate(float(p.value.amount) for p in points))
    cost = list(accumulate(float(p.cost.amount) for p in points))
    value_label = "cumulative value (resolved × ticket cost)"
    cost_label = "cumulative cost (inference + idle + training)"
    axes.plot(days, value, marker="o", label=value_label, color="#55A868")
    axes.plot(days, cost, marker="o", label=cost_label, color="#C44E52")
    if len(days) == 1:  # one day of data: show it mid-axis, not on a multi-year default range
        axes.set_xlim(days[0] - timedelta(days=1), days[0] + timedelta(days=1))
    axes.fill_between(
        days,
        value,
        cost,
        where=[v >= c for v, c in zip(value, cost, strict=True)],
        color="#55A868",
        alpha=0.15,
        interpolate=True,
    )
    axes.set_title(f"Value vs cost ({currency})")
    axes.set_ylabel(currency)
    span = f"{points[0].day} to {points[-1].day}: " if points else ""
    _provenance(figure, span + VALUE_SOURCE)
    axes.legend(loc="best")
    figure.autofmt_xdate()
    return _png(figure, path)
