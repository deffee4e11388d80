"""/prices show and /prices set: the versioned price sheet."""

from __future__ import annotations

from decimal import Decimal

from bot.commands.context import CommandContext, Invoker
from bot.replies import Reply, ReplyField
from costing.figures import moment
from costing.prices import SETTINGS_AUTHOR, PriceBook, SheetVersion, set_price


async def prices_show(ctx: CommandContext, invoker: Invoker) -> Reply:
    """The prices in force now, with their version and origin."""
    book = PriceBook(ctx.session_factory, defaults=ctx.costing.prices, ttl_s=0)
    return _sheet_reply(
        book.sheet_at(ctx.now()), title="Prices in force", zone=ctx.costing.timezone
    )


async def prices_set(ctx: CommandContext, invoker: Invoker, *, key: str, value: float) -> Reply:
    """Store a new version of the prices with one value changed, valid from now."""
    version = set_price(
        ctx.session_factory,
        key=key,
        value=_decimal(value),
        now=ctx.now(),
        changed_by=f"{invoker.kind}:{invoker.display_name}"[:100],
        defaults=ctx.costing.prices,
    )
    zone = ctx.costing.timezone
    reply = _sheet_reply(version, title=f"Price {key} set to {_decimal(value)}", zone=zone)
    return reply.with_text(
        f"New version {version.id}, valid from {moment(version.valid_from, zone)}. "
        "Earlier costs and values keep the prices of their time."
    )


def _decimal(value: float) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def _sheet_reply(version: SheetVersion, *, title: str, zone: str) -> Reply:
    prices = version.prices.to_json()
    origin = _origin(version)
    currency = prices.pop("currency")
    hardware = prices.pop("hardware")
    fields = tuple(
        ReplyField(key, f"{value or 'not set'} ({origin})", inline=True)
        for key, value in prices.items()
    )
    when = (
        "settings defaults"
        if version.id is None
        else f"version {version.id}, valid from {moment(version.valid_from, zone)}"
    )
    return Reply(
        title=title,
        text=f"{when}; currency {currency}, hardware {hardware}. "
        "All prices are configured, not measured.",
        fields=fields,
    )


def _origin(version: SheetVersion) -> str:
    if version.id is None or version.changed_by == SETTINGS_AUTHOR:
        return "configured in settings"
    return f"configured by {version.changed_by}"
