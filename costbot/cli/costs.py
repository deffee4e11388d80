"""`costbot aggregate|report|roi|chart` and `costbot prices …`, `costbot budget …`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from costbot.cli.state import settings_of
from costing import budgets, charts, prices, reports
from costing.errors import BudgetError, CostingError
from costing.jobs import run_job
from costing.periods import PERIOD_HELP
from costing.readers import GROUPS
from costing.settings import CostingSettings
from costing.units import Money
from storage.db import SessionFactory, create_db_engine, session_factory
from storage.types import utc_now

prices_app = typer.Typer(help="Price sheet versions.", no_args_is_help=True)
budget_app = typer.Typer(help="Monthly budgets and alerts.", no_args_is_help=True)
console = Console()


@dataclass(frozen=True)
class Context:
    """What every command needs: the costing settings, sessions, the price book."""

    settings: CostingSettings
    sessions: SessionFactory
    book: prices.PriceBook


@contextmanager
def _context(ctx: typer.Context) -> Iterator[Context]:
    settings = settings_of(ctx)
    costing = settings.costing
    engine = create_db_engine(settings.database)
    sessions = session_factory(engine)
    try:
        prices.sync_from_settings(sessions, settings=costing.prices, now=utc_now())
        yield Context(costing, sessions, prices.PriceBook(sessions, defaults=costing.prices))
    finally:
        engine.dispose()


def _run(ctx: typer.Context, action: Callable[[Context], None]) -> None:
    """Run a command: bad input is one line on stderr and exit code 2, no traceback."""
    try:
        with _context(ctx) as context:
            action(context)
    except CostingError as error:
        typer.echo(f"costbot: {error}", err=True)
        raise typer.Exit(2) from None


def _emit(data: dict[str, Any], *, as_json: bool, table: Callable[[], Table]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        console.print(table())


def aggregate_command(cli: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Fold new inference records into the hourly roll-ups, then check budgets."""

    def action(ctx: Context) -> None:
        run = run_job(ctx.sessions, now=utc_now(), timezone=ctx.settings.timezone)
        data = {**vars(run.aggregation), "alerts": [a.to_json() for a in run.alerts]}
        if as_json:
            typer.echo(json.dumps(data))
        else:
            typer.echo(", ".join(f"{k}={v}" for k, v in data.items() if k != "alerts"))

    _run(cli, action)


def report_command(
    cli: typer.Context,
    period: str = typer.Option("today", help=PERIOD_HELP),
    group_by: str | None = typer.Option(None, "--group-by", help="|".join(GROUPS)),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What inference cost in a period, per group, with where each figure came from."""

    def action(ctx: Context) -> None:
        report = reports.cost_report(
            ctx.sessions,
            period=period,
            group_by=group_by,
            now=utc_now(),
            prices=ctx.book,
            timezone=ctx.settings.timezone,
        )
        _emit(report.to_json(), as_json=as_json, table=lambda: _cost_table(report))

    _run(cli, action)


def _cost_table(report: reports.CostReport) -> Table:
    table = Table(title=f"Cost {report.start:%Y-%m-%d %H:%M} → {report.end:%Y-%m-%d %H:%M} UTC")
    for column in (
        "group",
        "count",
        "total",
        "compute",
        "energy",
        "hardware",
        "data",
        "CO2 g",
        "measured",
    ):
        table.add_column(column, justify="left" if column == "group" else "right")
    for line in (*report.groups, report.total):
        money = (line.total, line.compute, line.energy, line.hardware, line.data)
        table.add_row(
            line.key,
            str(line.count),
            *(m.format(report.currency) for m in money),
            f"{line.co2.grams:.3f}",
            f"{line.measured_share:.0%}",
        )
    if report.idle.pico:
        table.add_row("idle hardware", "", report.idle.format(report.currency))
    table.caption = f"energy: {report.total.energy_source}; prices: configured"
    return table


def roi_command(
    cli: typer.Context,
    period: str = typer.Option("month", help=PERIOD_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Value of resolved messages against all cost: ROI, payback, break-even volume."""

    def action(ctx: Context) -> None:
        answer = reports.roi_report(
            ctx.sessions,
            period=period,
            now=utc_now(),
            prices=ctx.book,
            roi_settings=ctx.settings.roi,
            timezone=ctx.settings.timezone,
        )
        _emit(answer.to_json(), as_json=as_json, table=lambda: _roi_table(answer.to_json()))

    _run(cli, action)


def _roi_table(data: dict[str, Any]) -> Table:
    table = Table(title=f"ROI {data['from']} → {data['to']}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("source")
    for key, value in data.items():
        if key not in ("from", "to", "sources"):
            table.add_row(key, _plain(value), data["sources"].get(key, ""))
    return table


def _plain(value: Any) -> str:
    return f"{value:,.6g}" if isinstance(value, float) else str(value)


def chart_command(
    cli: typer.Context,
    kind: str = typer.Argument(..., help="cost (per day by component) | value (vs cost)"),
    out: Path = typer.Option(..., "--out", help="PNG file to write"),
    period: str = typer.Option("month", help=PERIOD_HELP),
) -> None:
    """Write a chart as PNG."""

    def action(ctx: Context) -> None:
        now, zone = utc_now(), ctx.settings.timezone
        window = reports.resolve_period(period, now=now, timezone=zone)
        if kind == "cost":
            report = reports.cost_report(
                ctx.sessions, period=window, group_by="day", now=now, prices=ctx.book
            )
            charts.cost_per_day_chart(report, path=out)
        elif kind == "value":
            points = reports.daily_value_and_cost(
                ctx.sessions, period=window, now=now, prices=ctx.book, roi_settings=ctx.settings.roi
            )
            charts.value_vs_cost_chart(points, path=out)
        else:
            raise ValueError(f"bad chart {kind!r}: expected cost|value")
        typer.echo(str(out))

    _run(cli, action)


@prices_app.command("show")
def prices_show(cli: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """The prices valid now, and when they took effect."""

    def action(ctx: Context) -> None:
        sheet = ctx.book.sheet_at(utc_now())
        data = {
            "version": sheet.id,
            "valid_from": sheet.valid_from.isoformat(),
            "changed_by": sheet.changed_by,
            "prices": sheet.prices.to_json(),
        }
        _emit(data, as_json=as_json, table=lambda: _prices_table(data))

    _run(cli, action)


def _prices_table(data: dict[str, Any]) -> Table:
    table = Table(title=f"Price sheet v{data['version']} from {data['valid_from']}")
    table.add_column("key")
    table.add_column("value", justify="right")
    for key, value in data["prices"].items():
        table.add_row(key, value)
    return table


@prices_app.command("set")
def prices_set(cli: typer.Context, key: str, value: str) -> None:
    """Change one price from now on (stored as a new version)."""

    def action(ctx: Context) -> None:
        version = prices.set_price(
            ctx.sessions,
            key=key,
            value=value,
            now=utc_now(),
            changed_by="cli",
            defaults=ctx.settings.prices,
        )
        typer.echo(f"price sheet v{version.id}: {key} = {value} from {version.valid_from}")

    _run(cli, action)


@budget_app.command("show")
def budget_show(cli: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Budgets, and alerts waiting to be posted."""

    def action(ctx: Context) -> None:
        data = {
            "budgets": [b.to_json() for b in budgets.list_budgets(ctx.sessions)],
            "pending_alerts": [a.to_json() for a in budgets.pending_alerts(ctx.sessions)],
        }
        _emit(data, as_json=as_json, table=lambda: _budget_table(data))

    _run(cli, action)


def _budget_table(data: dict[str, Any]) -> Table:
    table = Table(title="Monthly budgets")
    for column in ("scope", "value", "limit"):
        table.add_column(column)
    for budget in data["budgets"]:
        table.add_row(budget["scope"], budget["value"], f"{budget['limit_usd']:,.2f}")
    table.caption = f"{len(data['pending_alerts'])} alert(s) pending"
    return table


@budget_app.command("set")
def budget_set(
    cli: typer.Context,
    scope: str = typer.Argument(..., help="all | model | channel"),
    value: str = typer.Argument("", help="model name or channel id (not for 'all')"),
    limit: str = typer.Option(..., "--limit", help="monthly limit in the sheet's currency"),
) -> None:
    """Set the monthly limit of a scope."""

    def action(ctx: Context) -> None:
        view = budgets.set_budget(
            ctx.sessions,
            scope=budgets.make_scope(scope, value),
            limit=_money(limit),
            now=utc_now(),
            changed_by="cli",
            currency=ctx.book.sheet_at(utc_now()).prices.currency,
        )
        typer.echo(f"budget {view.scope.kind} {view.scope.value} = {view.limit.amount:.2f}/month")

    _run(cli, action)


def _money(text: str) -> Money:
    try:
        return Money.from_decimal(Decimal(text))
    except InvalidOperation:
        raise BudgetError(f"bad amount {text!r}: expected a number") from None


def register(app: typer.Typer) -> None:
    """Add the costing commands to the top-level app."""
    app.command("aggregate")(aggregate_command)
    app.command("report")(report_command)
    app.command("roi")(roi_command)
    app.command("chart")(chart_command)
    app.add_typer(prices_app, name="prices")
    app.add_typer(budget_app, name="budget")
