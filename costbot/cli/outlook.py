"""`costbot forecast` and `costbot whatif`: where the money goes next, and what the same work
would cost elsewhere. The forecast's libraries (numpy, statsmodels) load inside the command only,
so `costbot --help` stays fast."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from costbot.cli.costs import EXACT_JSON, Context, _emit, _run
from costing.periods import PERIOD_HELP
from storage.types import utc_now

if TYPE_CHECKING:
    from costing.roi_lines import RoiLine

FORECAST_PERIOD_HELP = (
    "month: this calendar month (spent so far + the days left); 7d / 30d: the next 7 / 30 "
    "local days, today included"
)


def lines_table(lines: list[RoiLine], *, title: str) -> Table:
    """A figure | value | source table of answer lines."""
    table = Table(title=title)
    for column in ("figure", "value", "source"):
        table.add_column(column)
    for line in lines:
        table.add_row(("  " if line.indent else "") + line.name, line.value, line.source)
    return table


def _emit_lines(
    data: dict[str, Any], lines: Callable[[], list[RoiLine]], *, title: str, as_json: bool
) -> None:
    """`data` as JSON, or the answer lines (built only then) as one table."""
    _emit(data, as_json=as_json, tables=lambda: [lines_table(lines(), title=title)])


def forecast_command(
    cli: typer.Context,
    period: str = typer.Option("month", "--period", help=FORECAST_PERIOD_HELP),
    as_json: bool = EXACT_JSON,
) -> None:
    """Projected cost of the period with an interval, the method, its backtest error, and the
    day each monthly budget is projected to run out."""

    def action(ctx: Context) -> None:
        from costing.forecast import ForecastInputs, forecast
        from costing.outlook_lines import forecast_lines

        now = utc_now()
        inputs = ForecastInputs(
            ctx.sessions,
            ctx.settings.forecast,
            now,
            ctx.settings.timezone,
            ctx.book.sheet_at(now).prices.currency,
        )
        answer = forecast(inputs, period=period)
        title = f"Forecast: {answer.period}"
        _emit_lines(answer.to_json(), lambda: forecast_lines(answer), title=title, as_json=as_json)

    _run(cli, action)


def whatif_command(
    cli: typer.Context,
    period: str = typer.Option("month", "--period", help=PERIOD_HELP),
    as_json: bool = EXACT_JSON,
) -> None:
    """Cost per 1,000 messages of the period's workload here, on a GPU instance, on a hosted
    model and with human agents, each labelled, with break-even volumes."""

    def action(ctx: Context) -> None:
        from costing.outlook_lines import whatif_lines
        from costing.whatif_report import whatif_report

        answer = whatif_report(
            ctx.sessions, period=period, now=utc_now(), prices=ctx.book, settings=ctx.settings
        )
        title = f"What if: {period} (per 1,000 messages, {answer.workload.currency})"
        _emit_lines(answer.to_json(), lambda: whatif_lines(answer), title=title, as_json=as_json)

    _run(cli, action)


def register(app: typer.Typer) -> None:
    """Add `forecast` and `whatif` to the top-level app."""
    app.command("forecast")(forecast_command)
    app.command("whatif")(whatif_command)
