"""The terminal's tables for cost and ROI answers (the CLI and the demo), built from costing's
reports and shown with costing.figures, so they agree with the chat."""

from __future__ import annotations

from rich.table import Table

from costing import figures
from costing.cost_report import CostReport
from costing.figures import money
from costing.roi_lines import roi_lines
from costing.roi_report import RoiReport


def cost_groups_table(report: CostReport, *, title: str) -> Table:
    """One row per group: count, cost, energy, CO2 and the measured share (the total is in
    the components table, once)."""
    table = Table(title=f"{title}\n{figures.period(report.start, report.end, report.timezone)}")
    table.add_column(report.group_by or "group", overflow="fold")
    for column in ("count", "cost", "energy", "CO2", "measured"):
        table.add_column(column, justify="right", no_wrap=True)
    for line in report.groups:
        table.add_row(
            line.key,
            f"{line.count:,}",
            money(line.total, report.currency),
            figures.energy(line.energy_used),
            figures.co2(line.co2),
            figures.share(line.measured_share),
        )
    table.caption = f"energy {report.total.energy_source}; prices configured"
    return table


def cost_components_table(report: CostReport, *, title: str) -> Table:
    """The total by component, each with where it came from."""
    line, cur = report.total, report.currency
    table = Table(title=title)
    table.add_column("component")
    table.add_column("amount", justify="right", no_wrap=True)
    table.add_column("where it came from", overflow="fold")
    for name, amount, source in line.components():
        table.add_row(name, money(amount, cur), source)
    if report.idle.pico:
        table.add_row("idle hardware", money(report.idle, cur), "configured amortisation")
    table.add_row(
        "total", money(report.total_with_idle, cur), f"{line.count:,} inferences (counted)"
    )
    per = figures.per_thousand(report.total_with_idle, line.count, cur)
    table.add_row("per 1,000", per.split(" per ")[0], "total ÷ inferences × 1,000")
    measured = f"measured share {figures.share(line.measured_share)}"
    table.add_row("energy", figures.energy(line.energy_used), f"{line.energy_source} ({measured})")
    table.add_row("CO2", figures.co2(line.co2), line.co2_source)
    return table


def roi_table(report: RoiReport, *, title: str) -> Table:
    """Outcomes, value against cost, with every input and where it came from (the same
    lines as the chat's `/roi`)."""
    table = Table(title=f"{title}\n{figures.period(report.start, report.end, report.timezone)}")
    table.add_column("figure", overflow="fold")
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("where it came from", overflow="fold")
    for line in roi_lines(report):
        table.add_row(("  " if line.indent else "") + line.name, line.value, line.source)
    return table


def money_text(amount: object, currency: str) -> str:
    """A configured decimal price with its currency (``6.00 USD``)."""
    return f"{amount} {currency}"


def _per_month(count: int | None) -> str:
    return "n/a" if count is None else f"{count:,} messages/month"
