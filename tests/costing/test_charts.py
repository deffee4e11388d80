from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from costing.charts import cost_per_day_chart, cost_source, value_vs_cost_chart
from costing.cost_report import CostLine, CostReport
from costing.roi_report import DayPoint
from costing.totals import Totals
from costing.units import Money
from tests.factories import at

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _report(group_by: str | None) -> CostReport:
    lines = tuple(
        CostLine.from_totals(
            f"2026-03-{day:02d}",
            Totals(count=day, cost_compute_pico=day * 10**9, cost_energy_pico=day * 4 * 10**8),
        )
        for day in range(1, 8)
    )
    total = Totals(count=sum(line.count for line in lines))
    return CostReport(
        start=at("2026-03-01T00:00"),
        end=at("2026-03-08T00:00"),
        timezone="UTC",
        currency="USD",
        group_by=group_by,
        total=CostLine.from_totals("all", total),
        groups=lines,
        idle=Money(0),
        idle_hours=0.0,
    )


def test_cost_per_day_is_a_png_and_is_written_to_the_path(tmp_path: Path) -> None:
    path = tmp_path / "cost.png"
    data = cost_per_day_chart(_report("day"), path=path)
    assert data.startswith(PNG_SIGNATURE)
    assert path.read_bytes() == data


def test_cost_per_day_needs_day_groups() -> None:
    with pytest.raises(ValueError, match="grouped by day"):
        cost_per_day_chart(_report("model"))


def test_value_vs_cost_is_a_png() -> None:
    start: datetime = at("2026-03-01T00:00")
    points = tuple(
        DayPoint(
            date.fromisoformat((start + timedelta(days=i)).date().isoformat()),
            Money(i * 10**12),
            Money(3 * 10**12),
        )
        for i in range(10)
    )
    assert value_vs_cost_chart(points).startswith(PNG_SIGNATURE)


def test_a_chart_names_the_provenance_of_what_it_plots() -> None:
    text = cost_source(_report("day"))
    assert text.startswith("28 inference records, 2026-03-01 00:00 to 2026-03-08 00:00 (UTC)")
    assert "estimated energy × configured prices (price sheet)" in text
