"""/models, /health and /help."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.commands.context import CommandContext, Invoker
from bot.commands.spec import SPECS
from bot.errors import ServiceUnavailableError
from bot.replies import Reply, ReplyField
from costing import figures
from costing.periods import PERIOD_HELP
from costing.prices import PriceBook
from costing.units import Carbon, Energy, Money
from storage.db import session_scope

_INTERNAL = re.compile(r"[/\\@:]|\d+\.\d+\.\d+|\blocalhost\b|\.(local|internal|lan)\b")


async def models(ctx: CommandContext, invoker: Invoker) -> Reply:
    """The service's loaded adapters, with versions, metrics and training cost."""
    data = await ctx.service.models()
    adapters = data.get("adapters", []) if isinstance(data, dict) else []
    book = PriceBook(ctx.session_factory, defaults=ctx.costing.prices, ttl_s=0)
    currency = book.sheet_at(ctx.now()).prices.currency
    fields = tuple(_adapter_field(adapter, currency) for adapter in adapters)
    header = f"Base model `{data.get('model_name', '?')}` on {data.get('device', '?')}."
    return Reply(
        title="Models", text=header if fields else header + " No adapters loaded.", fields=fields
    )


def _adapter_field(adapter: dict[str, Any], currency: str) -> ReplyField:
    metrics = adapter.get("metrics") or {}
    shown = ", ".join(
        f"{k} {_number(v)}" for k, v in sorted(metrics.items()) if isinstance(v, int | float)
    )[:300]
    lines = [
        f"version `{adapter.get('version', '?')}`, {len(adapter.get('labels', []))} labels, "
        + _unknown_rule(adapter),
        f"metrics (measured on held-out data): {shown or 'none recorded'}",
        f"training cost: {_training_cost(adapter.get('training_cost'), currency)}",
    ]
    return ReplyField(str(adapter.get("task", "?")), "\n".join(lines))


def _unknown_rule(adapter: dict[str, Any]) -> str:
    """When the task answers `unknown`, in words."""
    if not adapter.get("threshold") and not adapter.get("margin"):
        return "never unknown"
    return (
        f"unknown below score {_number(adapter.get('threshold', 0))} "
        f"or top-2 gap {_number(adapter.get('margin', 0))}"
    )


def _training_cost(cost: dict[str, Any] | None, currency: str) -> str:
    """The recorded training run (exact integers on the wire) in words."""
    if not cost or not isinstance(cost.get("total_pico"), int):
        return "not recorded"
    parts = [
        f"**{figures.money(Money(cost['total_pico']), currency)}** (measured time and "
        "energy × configured prices, data labels × configured price)",
        f"{figures.duration(float(cost.get('wall_s', 0)))} on {cost.get('device', '?')}",
        f"{figures.energy(Energy(int(cost.get('energy_uj', 0))))}",
        f"CO2 {figures.co2(Carbon(int(cost.get('co2_ng', 0))))}",
    ]
    return ", ".join(parts)


def _number(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


async def health(ctx: CommandContext, invoker: Invoker) -> Reply:
    """Whether the model service, the database and the scheduler work."""
    fields = (await _service_health(ctx), _database_health(ctx), _scheduler_health(ctx))
    healthy = all(f.value.startswith("ok") for f in fields)
    return Reply(
        title="Health", text="All good." if healthy else "Something needs attention.", fields=fields
    )


async def _service_health(ctx: CommandContext) -> ReplyField:
    try:
        ready = await ctx.service.readiness()
    except ServiceUnavailableError as error:
        return ReplyField("model service", f"down: {error}")
    state = "ok" if ready.ready else "not ready"
    return ReplyField("model service", f"{state} {_public(ready.detail)}".strip())


def _public(detail: str) -> str:
    """The readiness detail unless it may name a host, an address or a path (members see
    /health; the service's log has the full reason)."""
    return "" if _INTERNAL.search(detail) else detail


def _database_health(ctx: CommandContext) -> ReplyField:
    try:
        with session_scope(ctx.session_factory) as session:
            session.connection().execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return ReplyField("database", f"down: {type(error).__name__}")
    return ReplyField("database", "ok")


def _scheduler_health(ctx: CommandContext) -> ReplyField:
    if ctx.scheduler is None:
        return ReplyField("scheduler", "ok (not used here: console mode)")
    problem = ctx.scheduler()
    return ReplyField("scheduler", "ok" if problem is None else f"down: {problem}")


async def help_(ctx: CommandContext, invoker: Invoker) -> Reply:
    """Every command with its usage."""
    fields = (
        *(ReplyField(spec.usage, spec.description) for spec in SPECS),
        ReplyField("periods", PERIOD_HELP),
    )
    return Reply(
        title="costbot commands",
        text="Figures are marked measured, estimated or configured.",
        fields=fields,
        ephemeral=True,
    )
