"""/classify: intent, sentiment, confidence, and this inference's cost."""

from __future__ import annotations

from bot.commands.context import CommandContext, Invoker
from bot.replies import Reply, ReplyField, origin_of
from bot.service_client import Classification, InferenceCost
from costing import figures


async def classify(ctx: CommandContext, invoker: Invoker, *, text: str) -> Reply:
    """Classify one message through the model service."""
    result = await ctx.service.classify(text, source=invoker.source("classify"))
    return classification_reply(result)


def classification_reply(result: Classification) -> Reply:
    """The reply for a classification: one field per task, then the cost."""
    fields = [_prediction_field(result, task) for task in sorted(result.predictions)]
    fields.extend(cost_fields(result.cost))
    note = " (text was truncated to the model's length)" if result.truncated else ""
    return Reply(
        title="Classification", text=f"{result.tokens} tokens{note}.", fields=tuple(fields)
    )


def _prediction_field(result: Classification, task: str) -> ReplyField:
    prediction = result.predictions[task]
    runners = ", ".join(f"{label} {score:.0%}" for label, score in prediction.top[1:3])
    extra = f"\nnext: {runners}" if runners else ""
    return ReplyField(
        task, f"**{prediction.label}** ({prediction.score:.0%} confidence){extra}", inline=True
    )


def cost_fields(cost: InferenceCost) -> list[ReplyField]:
    """This inference's cost, each part labelled measured / estimated / configured."""
    energy_source = "measured" if cost.energy_measured else "estimated"
    parts = [
        f"{name}: {figures.money(amount, cost.currency)} "
        f"({origin_of(cost.provenance.get(name, ''))})"
        for name, amount in cost.money.items()
        if name != "total"
    ]
    total = figures.money(cost.total, cost.currency)
    rate = figures.per_thousand(cost.total, 1, cost.currency)
    return [
        ReplyField(
            "Cost of this answer",
            f"**{total}**, i.e. {rate} like it (from the service's measurement)\n"
            + "\n".join(parts),
        ),
        ReplyField(
            "Energy",
            f"{figures.energy(cost.energy)} ({energy_source}: {cost.energy_method}); "
            f"CO2 {figures.co2(cost.co2)} ({energy_source})",
            inline=True,
        ),
        ReplyField(
            "Latency", figures.duration(cost.latency_ms / 1000) + " (measured)", inline=True
        ),
    ]
