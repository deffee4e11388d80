"""`costbot aggregate|cost|roi|chart`, `costbot prices show|set`, `costbot budget show|set|delete`.

The same grammar as the chat: command names, positional options, defaults and period words.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from costbot.cli.state import settings_of
from costbot.cli.tables import cost_components_table, cost_groups_table, roi_table
from costing import aggregation, budgets, charts, figures, prices
from costing.cost_report import cost_report, resolve_period
from costing.errors import BudgetError, CostingError
from costing.jobs import run_job
from costing.periods import DEFAULT_PERIOD, PERIOD_HELP, parse_period
from costing.readers import DEFAULT_GROUP, GROUPS, SCOPES
from costing.roi_report import daily_value_and_cost, roi_report
from costing.settings import CostingSettings
from costing.units import Money
from storage.db import SessionFactory, create_db_engine, session_factory
from storage.migrate import require_current_schema
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
        require_current_schema(engine)
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


def _emit(data: dict[str, Any], *, as_json: bool, tables: Callable[[], list[Table]]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        for table in tables():
            console.print(table)


PERIOD = typer.Argument(DEFAULT_PERIOD, help=PERIOD_HELP, show_default=False)
EXACT_JSON = typer.Option(False, "--json", help="exact values (money as decimal strings)")


def aggregate_command(
    cli: typer.Context,
    as_json: bool = typer.Option(False, "--json"),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="re-fold the roll-ups after records were corrected, then run"
    ),
    since: str | None = typer.Option(
        None,
        "--from",
        help="with --rebuild: re-fold from this day (YYYY-MM-DD, aggregation.timezone) on",
        show_default=False,
    ),
) -> None:
    """Fold new inference records into the hourly roll-ups, then check budgets."""

    def action(ctx: Context) -> None:
        now = utc_now()
        rebuilt: dict[str, Any] = {}
        if since is not None and not rebuild:
            raise CostingError("--from needs --rebuild")
        if rebuild:
            start = _day_start(since, now=now, timezone=ctx.settings.timezone)
            rebuilt = {"rebuild": aggregation.rebuild(ctx.sessions, now=now, since=start).to_json()}
        settle_s = ctx.settings.aggregation.settle_s
        run = run_job(ctx.sessions, now=now, timezone=ctx.settings.timezone, settle_s=settle_s)
        data = {**vars(run.aggregation), **rebuilt, "alerts": [a.to_json() for a in run.alerts]}
        if as_json:
            typer.echo(json.dumps(data))
        else:
            typer.echo(", ".join(f"{k}={v}" for k, v in data.items() if k != "alerts"))

    _run(cli, action)


def _day_start(text: str | None, *, now: datetime, timezone: str) -> datetime | None:
    """The UTC start of a local day given as YYYY-MM-DD (None without one)."""
    if text is None:
        return None
    return parse_period(f"{text}..{text}", now=now, timezone=timezone).start


def cost_command(
    cli: typer.Context,
    period: str = PERIOD,
    group_by: str = typer.Option(DEFAULT_GROUP, "--group-by", help="|".join(GROUPS)),
    as_json: bool = EXACT_JSON,
) -> None:
    """What inference cost in a period, per group, with where each figure came from."""

    def action(ctx: Context) -> None:
        report = cost_report(
            ctx.sessions,
            period=period,
            group_by=group_by,
            now=utc_now(),
            prices=ctx.book,
            timezone=ctx.settings.timezone,
        )
        title = f"Cost: {period}"
        _emit(
            report.to_json(),
            as_json=as_json,
            tables=lambda: [
                cost_groups_table(report, title=f"{title}, by {report.group_by or 'all'}"),
                cost_components_table(report, title=f"{title}, by component ({report.currency})"),
            ],
        )

    _run(cli, action)


def roi_command(
    cli: typer.Context,
    period: str = PERIOD,
    period_option: str | None = typer.Option(
        None, "--period", help="the period as an option (the same words as PERIOD)"
    ),
    as_json: bool = EXACT_JSON,
) -> None:
    """Value of resolved messages against all cost: ROI, payback, break-even volume."""

    def action(ctx: Context) -> None:
        chosen = _one_period(period, period_option)
        answer = roi_report(
            ctx.sessions,
            period=chosen,
            now=utc_now(),
            prices=ctx.book,
            roi_settings=ctx.settings.roi,
            timezone=ctx.settings.timezone,
        )
        title = f"ROI: {chosen}"
        _emit(answer.to_json(), as_json=as_json, tables=lambda: [roi_table(answer, title=title)])

    _run(cli, action)


def _one_period(argument: str, option: str | None) -> str:
    """The period given as PERIOD or as --period; CostingError when both name different ones."""
    if option is None:
        return argument
    if argument not in (DEFAULT_PERIOD, option):
        raise CostingError(f"two periods ({argument!r} and --period {option!r}): give one")
    return option


def chart_command(
    cli: typer.Context,
    kind: str = typer.Argument(..., help="cost (per day by component) | value (vs cost)"),
    period: str = PERIOD,
    out: Path = typer.Option(..., "--out", help="PNG file to write"),
) -> None:
    """Write a chart as PNG."""

    def action(ctx: Context) -> None:
        now, zone = utc_now(), ctx.settings.timezone
        window = resolve_period(period, now=now, timezone=zone)
        if kind == "cost":
            report = cost_report(
                ctx.sessions, period=window, group_by="day", now=now, prices=ctx.book
            )
            charts.cost_per_day_chart(report, path=out)
        elif kind == "value":
            points = daily_value_and_cost(
                ctx.sessions, period=window, now=now, prices=ctx.book, roi_settings=ctx.settings.roi
            )
            charts.value_vs_cost_chart(points, path=out)
        else:
            raise CostingError(f"bad chart {kind!r}: expected cost|value")
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
        _emit(data, as_json=as_json, tables=lambda: [_prices_table(data, ctx.settings.timezone)])

    _run(cli, action)


def _prices_table(data: dict[str, Any], zone: str) -> Table:
    if data["version"] is None:
        title = "Prices in force: the settings' defaults"
    else:
        since = figures.moment(datetime.fromisoformat(data["valid_from"]), zone)
        title = f"Prices in force: version {data['version']}, valid from {since}"
    table = Table(title=title)
    table.add_column("key")
    table.add_column("value", justify="right")
    for key, value in data["prices"].items():
        table.add_row(key, value or "not set")
    table.caption = f"configured ({data['changed_by']})"
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
        since = figures.moment(version.valid_from, ctx.settings.timezone)
        typer.echo(f"price sheet version {version.id}: {key} = {value} from {since}")

    _run(cli, action)


@budget_app.command("show")
def budget_show(cli: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Budgets, and alerts waiting to be posted."""

    def action(ctx: Context) -> None:
        data = {
            "budgets": [b.to_json() for b in budgets.list_budgets(ctx.sessions)],
            "pending_alerts": [a.to_json() for a in budgets.pending_alerts(ctx.sessions)],
        }
        _emit(data, as_json=as_json, tables=lambda: [_budget_table(data)])

    _run(cli, action)


def _budget_table(data: dict[str, Any]) -> Table:
    table = Table(title="Monthly budgets")
    for column in ("scope", "value", "limit"):
        table.add_column(column)
    for budget in data["budgets"]:
        limit = figures.money(Money.from_decimal(budget["limit"]), budget["currency"])
        table.add_row(budget["scope"], budget["value"], limit)
    table.caption = f"{len(data['pending_alerts'])} alert(s) pending"
    return table


@budget_app.command("set")
def budget_set(
    cli: typer.Context,
    limit: str = typer.Argument(..., help="monthly limit in the price sheet's currency"),
    scope: str = typer.Argument("all", help="|".join(SCOPES)),
    value: str = typer.Argument("", help="model name or channel id (not for 'all')"),
) -> None:
    """Set the monthly limit of a scope (like `/budget set limit [scope] [value]`)."""

    def action(ctx: Context) -> None:
        view = budgets.set_budget(
            ctx.sessions,
            scope=budgets.make_scope(scope, value),
            limit=_money(limit),
            now=utc_now(),
            changed_by="cli",
            currency=ctx.book.sheet_at(utc_now()).prices.currency,
        )
        name = view.scope.kind + (f" {view.scope.value}" if view.scope.value else "")
        shown = figures.money(view.limit, view.currency)
        typer.echo(f"Budget for {name} set to {shown} per month.")

    _run(cli, action)


@budget_app.command("delete")
def budget_delete(
    cli: typer.Context,
    scope: str = typer.Argument(..., help="|".join(SCOPES)),
    value: str = typer.Argument("", help="model name or channel id (not for 'all')"),
) -> None:
    """Delete the budget of a scope, with its alerts (like `/budget delete scope [value]`)."""

    def action(ctx: Context) -> None:
        view = budgets.delete_budget(ctx.sessions, kind=scope, value=value)
        typer.echo(f"Budget for {budgets.scope_name(view.scope)[:60]} deleted, with its alerts.")

    _run(cli, action)


def _money(text: str) -> Money:
    try:
        return Money.from_decimal(Decimal(text))
    except InvalidOperation:
        raise BudgetError(f"bad amount {text!r}: expected a number") from None


def register(app: typer.Typer) -> None:
    """Add the costing commands to the top-level app."""
    app.command("aggregate")(aggregate_command)
    app.command("cost")(cost_command)
    app.command("roi")(roi_command)
    app.command("chart")(chart_command)
    app.add_typer(prices_app, name="prices")
    app.add_typer(budget_app, name="budget")
