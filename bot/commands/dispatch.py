"""Run a command by name: check permission, validate options, call, turn errors into replies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.commands import classify, info, outlook, prices, reports
from bot.commands.context import CommandContext, Invoker
from bot.commands.spec import SPECS, SPECS_BY_NAME, validate
from bot.errors import BotError, PermissionRequiredError, UnknownCommandError
from bot.replies import Reply, error_reply
from costing.errors import (
    BadGroupError,
    BadPeriodError,
    BudgetError,
    CurrencyMixError,
    PriceKeyError,
)

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Reply]]

HANDLERS: dict[str, Handler] = {
    "classify": classify.classify,
    "cost": reports.cost,
    "roi": reports.roi,
    "forecast": outlook.forecast,
    "whatif": outlook.whatif,
    "budget show": reports.budget_show,
    "budget set": reports.budget_set,
    "budget delete": reports.budget_delete,
    "prices show": prices.prices_show,
    "prices set": prices.prices_set,
    "report now": reports.report_now,
    "models": info.models,
    "health": info.health,
    "help": info.help_,
}

USER_ERRORS = (
    BotError,
    BadPeriodError,
    BadGroupError,
    BudgetError,
    PriceKeyError,
    CurrencyMixError,
)


async def run_command(
    ctx: CommandContext, invoker: Invoker, name: str, options: dict[str, Any]
) -> Reply:
    """The reply to a command; never raises for bad input, a down service or a database error."""
    try:
        return await _run(ctx, invoker, name, options)
    except USER_ERRORS as error:
        return error_reply(str(error))
    except SQLAlchemyError as error:
        log.warning("/%s: database error %s", name, type(error).__name__)
        return error_reply(
            "The database is not answering right now. Try again in a minute; "
            "`/health` shows what is down."
        )


async def _run(ctx: CommandContext, invoker: Invoker, name: str, options: dict[str, Any]) -> Reply:
    spec = SPECS_BY_NAME.get(name)
    if spec is None:
        raise UnknownCommandError(name, [s.name for s in SPECS])
    if spec.manage and not invoker.can_manage:
        raise PermissionRequiredError(name)
    values = validate(spec, options)
    return await HANDLERS[name](ctx, invoker, **values)


def reply_for_error(error: BaseException) -> Reply | None:
    """The friendly reply for an error the command layer knows, else None."""
    if isinstance(error, USER_ERRORS):
        return error_reply(str(error))
    return None
