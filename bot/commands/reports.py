"""/cost, /roi, /budget, /report: costing's reports in words, every figure with its source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot.commands.context import CommandContext, Invoker
from bot.replies import Reply, ReplyField, ReplyFile
from costing import figures
from costing.budgets import (
    BudgetView,
    delete_budget,
    list_budgets,
    make_scope,
    scope_name,
    scope_problem,
    set_budget,
)
from costing.charts import cost_per_day_chart
from costing.cost_report import CostLine, CostReport, cost_report
from costing.figures import money
from costing.periods import Period, parse_period
from costing.prices import PriceBook
from costing.readers import read_totals
from costing.roi_lines import RoiLine, money_lines, outcome_lines
from costing.roi_report import RoiReport, roi_report
from costing.settings import CostingSettings
from costing.units import Money
from storage.db import SessionFactory

MAX_GROUP_FIELDS = 20


@dataclass(frozen=True)
class ReportDeps:
    """What a report needs; shared by commands and the scheduled summaries."""

    session_factory: SessionFactory
    costing: CostingSettings
    now: datetime

    @classmethod
    def of(cls, ctx: CommandContext) -> ReportDeps:
        """From a command context, at its current time."""
        return cls(ctx.session_factory, ctx.costing, ctx.now())

    def book(self) -> PriceBook:
        """A fresh price book (no stale cache across commands)."""
        return PriceBook(self.session_factory, defaults=self.costing.prices, ttl_s=0)

    def period(self, text: str) -> Period:
        """A period parsed in the configured timezone."""
        return parse_period(text, now=self.now, timezone=self.costing.timezone)


async def cost(ctx: CommandContext, invoker: Invoker, *, period: str, group_by: str) -> Reply:
    """Inference cost in a period, by group, with a per-day chart when grouped by day."""
    deps = ReportDeps.of(ctx)
    report = cost_report(
        deps.session_factory,
        period=deps.period(period),
        group_by=group_by,
        now=deps.now,
        prices=deps.book(),
        timezone=deps.costing.timezone,
    )
    chart = None
    if group_by == "day" and report.groups:
        chart = ReplyFile("cost-per-day.png", cost_per_day_chart(report))
    return Reply(
        title=f"Cost: {period}", text=_cost_summary(report), fields=_cost_fields(report), file=chart
    )


def _cost_summary(report: CostReport) -> str:
    cur = report.currency
    count = report.total.count
    lines = [
        figures.period(report.start, report.end, report.timezone),
        f"**{money(report.total_with_idle, cur)}** for {report.total.count} inferences "
        f"(count measured); energy {report.total.energy_source}.",
        f"That is {figures.per_thousand(report.total_with_idle, count, cur)}"
        " (idle owned hardware included).",
    ]
    if report.idle.pico:
        lines.append(f"Idle owned hardware: {money(report.idle, cur)} (configured amortisation).")
    return "\n".join(lines)


def _cost_fields(report: CostReport) -> tuple[ReplyField, ...]:
    cur, line = report.currency, report.total
    components = ReplyField(
        "By component",
        "\n".join(
            [
                *(
                    f"{name} {money(amount, cur)} ({src})"
                    for name, amount, src in line.components()
                ),
                f"energy used {figures.energy(line.energy_used)} ({line.energy_source})",
                f"CO2 {figures.co2(line.co2)} ({line.co2_source})",
            ]
        ),
    )
    groups = [_group_field(g, cur) for g in report.groups[:MAX_GROUP_FIELDS]]
    if len(report.groups) > MAX_GROUP_FIELDS:
        groups.append(ReplyField("…", f"{len(report.groups) - MAX_GROUP_FIELDS} more groups"))
    return (components, *groups)


def _group_field(line: CostLine, currency: str) -> ReplyField:
    return ReplyField(
        line.key or "(none)",
        f"{money(line.total, currency)}, {line.count} calls (energy {line.energy_source})",
        inline=True,
    )


async def roi(ctx: CommandContext, invoker: Invoker, *, period: str) -> Reply:
    """Value versus cost in a period, with payback and break-even volume."""
    deps = ReportDeps.of(ctx)
    report = _roi(deps, deps.period(period))
    return Reply(
        title=f"ROI: {period}",
        text=figures.period(report.start, report.end, report.timezone),
        fields=roi_fields(report),
    )


def _roi(deps: ReportDeps, period: Period) -> RoiReport:
    return roi_report(
        deps.session_factory,
        period=period,
        now=deps.now,
        prices=deps.book(),
        roi_settings=deps.costing.roi,
        timezone=deps.costing.timezone,
    )


CHAT_NAMES = {"value, measured": "Value", "value resting on assumptions": "Assumed value"}


def roi_fields(report: RoiReport) -> tuple[ReplyField, ...]:
    """ROI figures, each with where it came from (the same lines as `costbot roi`)."""
    outcomes, money_part = outcome_lines(report), money_lines(report)
    cost_parts = "; ".join(f"{x.name} {x.value} ({x.source})" for x in money_part if x.indent)
    fields = [
        ReplyField("Conversations", _joined(outcomes[:7])),
        ReplyField("Rates", _joined(outcomes[7:])),
    ]
    for line in money_part:
        if line.name == "cost":
            fields.append(ReplyField("Cost", f"{line.value}: {cost_parts}"))
        elif not line.indent:
            name = CHAT_NAMES.get(line.name, line.name[:1].upper() + line.name[1:])
            fields.append(ReplyField(name, f"{line.value} ({line.source})"))
    return tuple(fields)


def _joined(lines: list[RoiLine]) -> str:
    return "; ".join(f"{line.name} {line.value} ({line.source})" for line in lines)


async def budget_show(ctx: CommandContext, invoker: Invoker) -> Reply:
    """Every budget with this month's spend (a budget with an invalid scope says so)."""
    deps = ReportDeps.of(ctx)
    month = deps.period("month")
    fields = [_budget_field(deps, budget, month) for budget in list_budgets(deps.session_factory)]
    text = (
        "Monthly budgets; alerts at 80% and 100%."
        if fields
        else ("No budgets yet. Set one with `/budget set limit:<amount>`.")
    )
    return Reply(title="Budgets", text=text, fields=tuple(fields))


def _budget_field(deps: ReportDeps, budget: BudgetView, month: Period) -> ReplyField:
    name = scope_name(budget.scope)[:60]
    problem = scope_problem(budget.scope)
    if problem is not None:
        return ReplyField(name, f"not checked: {problem}. Delete it with `/budget delete`.")
    sums = read_totals(deps.session_factory, period=month, scope=budget.scope)
    spent = Money(sum(t.total_pico for t in sums.values()))
    share = spent.pico / budget.limit.pico if budget.limit.pico else 0.0
    return ReplyField(
        name,
        f"{money(spent, budget.currency)} of "
        f"{money(budget.limit, budget.currency)} (configured) spent this "
        f"month: {figures.percent(share)}",
    )


async def budget_set(
    ctx: CommandContext, invoker: Invoker, *, limit: float, scope: str, value: str
) -> Reply:
    """Create or change a monthly budget (a changed limit re-arms its alerts)."""
    deps = ReportDeps.of(ctx)
    currency = deps.book().sheet_at(deps.now).prices.currency
    view = set_budget(
        deps.session_factory,
        scope=make_scope(scope, value),
        limit=Money.from_decimal(Decimal(str(limit))),
        now=deps.now,
        currency=currency,
        changed_by=f"{invoker.kind}:{invoker.display_name}"[:100],
    )
    name = scope_name(view.scope)
    return Reply(text=f"Budget for {name} set to {money(view.limit, view.currency)} per month.")


async def budget_delete(ctx: CommandContext, invoker: Invoker, *, scope: str, value: str) -> Reply:
    """Delete a monthly budget and its alerts."""
    view = delete_budget(ReportDeps.of(ctx).session_factory, kind=scope, value=value)
    return Reply(text=f"Budget for {scope_name(view.scope)[:60]} deleted, with its alerts.")


async def report_now(ctx: CommandContext, invoker: Invoker) -> Reply:
    """Today's cost and ROI summary with the cost-per-day chart of the last week."""
    deps = ReportDeps.of(ctx)
    return summary_reply(deps, period=deps.period("today"), title="Summary: today")


def summary_reply(deps: ReportDeps, *, period: Period, title: str) -> Reply:
    """A cost and ROI summary of a period, with a chart of cost per day over its last week."""
    tz = deps.costing.timezone
    costs = cost_report(
        deps.session_factory,
        period=period,
        group_by=None,
        now=deps.now,
        prices=deps.book(),
        timezone=tz,
    )
    by_day = cost_report(
        deps.session_factory,
        period=_week_ending(deps, period),
        group_by="day",
        now=deps.now,
        prices=deps.book(),
        timezone=tz,
    )
    chart = ReplyFile("cost-per-day.png", cost_per_day_chart(by_day))
    fields = (*_cost_fields(costs)[:1], *roi_fields(_roi(deps, period)))
    return Reply(title=title, text=_cost_summary(costs), fields=fields, file=chart)


def _week_ending(deps: ReportDeps, period: Period) -> Period:
    last = period.local_day(period.end - timedelta(microseconds=1))
    return deps.period(f"{last - timedelta(days=6)}..{last}")
