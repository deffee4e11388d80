"""/forecast and /whatif: where the money goes next, and what the same work costs elsewhere.

The same lines as `costbot forecast` and `costbot whatif` (costing.outlook_lines). The forecast
fits models, so it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.commands.context import CommandContext, Invoker
from bot.commands.reports import ReportDeps
from bot.replies import Reply, ReplyField, ReplyFile, error_reply
from costing.errors import CostingError
from costing.roi_lines import RoiLine

if TYPE_CHECKING:
    from costing.forecast import Forecast, ForecastInputs


def _fields(lines: list[RoiLine]) -> tuple[ReplyField, ...]:
    """One field per figure; an indented line joins the figure above it."""
    fields: list[ReplyField] = []
    for line in lines:
        text = f"{line.value} ({line.source})"
        if line.indent and fields:
            last = fields.pop()
            fields.append(ReplyField(last.name, f"{last.value}\n{line.name}: {text}"))
        else:
            fields.append(ReplyField(line.name, text))
    return tuple(fields)


async def forecast(ctx: CommandContext, invoker: Invoker, *, period: str) -> Reply:
    """Projected cost of the period with its interval, method, backtest error and budgets."""
    from costing.forecast import ForecastInputs
    from costing.outlook_lines import forecast_lines

    deps = ReportDeps.of(ctx)
    currency = deps.book().sheet_at(deps.now).prices.currency
    inputs = ForecastInputs(
        deps.session_factory, deps.costing.forecast, deps.now, deps.costing.timezone, currency
    )
    try:
        answer, chart = await asyncio.to_thread(_forecast_with_chart, inputs, period)
    except CostingError as error:
        return error_reply(str(error))
    return Reply(
        title=f"Forecast: {answer.period}",
        fields=_fields(forecast_lines(answer)),
        file=ReplyFile("forecast.png", chart),
    )


def _forecast_with_chart(inputs: ForecastInputs, period: str) -> tuple[Forecast, bytes]:
    """The forecast and its chart (cost per day, forecast and band); CPU work."""
    from costing.forecast import forecast as project
    from costing.outlook_charts import forecast_chart

    answer = project(inputs, period=period)
    series = answer.projection.series
    return answer, forecast_chart(series.points() if series else [], answer)


async def whatif(ctx: CommandContext, invoker: Invoker, *, period: str) -> Reply:
    """Cost per 1,000 messages here and on the alternatives, with break-even volumes."""
    from costing.outlook_lines import whatif_lines
    from costing.whatif_report import whatif_report

    deps = ReportDeps.of(ctx)
    try:
        answer = whatif_report(
            deps.session_factory,
            period=deps.period(period),
            now=deps.now,
            prices=deps.book(),
            settings=deps.costing,
        )
    except CostingError as error:
        return error_reply(str(error))
    title = f"What if: {period} (per 1,000 messages)"
    return Reply(title=title, fields=_fields(whatif_lines(answer)))
