"""The command layer against the real model service on loopback and a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from bot.commands import CommandContext, Invoker, run_command
from bot.commands.spec import SPECS
from bot.errors import ServiceUnavailableError
from bot.policy import MessageSignals
from bot.service_client import ModelServiceClient
from bot.settings import BotConfig
from bot.support import decide, handle_support_message, load_support_policy, load_templates
from storage.db import SessionFactory
from storage.tables import InferenceRecord, PriceSheet, SupportOutcome, TrainingRun
from storage.types import utc_now

CONSOLE = Invoker()
MEMBER = Invoker(
    kind="discord", user_id="42", display_name="member", guild_id=1, channel_id=2, can_manage=False
)


@pytest.fixture
async def ctx(settings: BotConfig, sessions: SessionFactory) -> AsyncIterator[CommandContext]:
    async with httpx.AsyncClient() as http:
        service = ModelServiceClient(http, base_url=settings.service.url, timeout_s=20)
        yield CommandContext(service=service, session_factory=sessions, costing=settings.costing)


def _rows(sessions: SessionFactory, table: type) -> list:
    with Session(sessions().get_bind()) as session:
        return list(session.exec(select(table)).all())


async def test_classify_reports_labels_and_this_inference_cost(ctx: CommandContext) -> None:
    reply = await run_command(ctx, MEMBER, "classify", {"text": "I lost my card"})
    fields = {f.name: f.value for f in reply.fields}
    assert fields["intent"].startswith("**lost_or_stolen_card**")
    assert "USD" in fields["Cost of this answer"] and "(estimated)" in fields["Cost of this answer"]
    assert "(measured)" in fields["Latency"]


async def test_classify_is_recorded_with_its_source(ctx: CommandContext) -> None:
    await run_command(ctx, MEMBER, "classify", {"text": "where is my new card"})
    for _ in range(100):
        rows = _rows(ctx.session_factory, InferenceRecord)
        if rows:
            break
        import asyncio

        await asyncio.sleep(0.05)
    [row] = rows
    assert (row.source_kind, row.command, row.guild_id, row.channel_id) == (
        "discord",
        "classify",
        1,
        2,
    )


async def test_cost_and_roi_name_their_sources(ctx: CommandContext) -> None:
    await run_command(ctx, CONSOLE, "classify", {"text": "my card has not arrived"})
    cost = await run_command(ctx, CONSOLE, "cost", {"period": "week", "group_by": "command"})
    assert not cost.is_error and cost.title == "Cost: week"
    text = "\n".join(f.value for f in cost.fields)
    assert "configured price" in text and "estimated energy" in text
    roi = await run_command(ctx, CONSOLE, "roi", {"period": "today"})
    values = {f.name: f.value for f in roi.fields}
    assert "(measured)" in values["Value"] and "(configured)" in values["Value"]


async def test_roi_refuses_to_sum_two_currencies_in_one_line(
    ctx: CommandContext, sessions: SessionFactory
) -> None:
    with Session(sessions().get_bind()) as session:
        session.add(
            TrainingRun(task="support", base_model="m", adapter_version="v9", currency="EUR")
        )
        session.commit()
    reply = await run_command(ctx, CONSOLE, "roi", {"period": "today"})
    assert reply.is_error and "support@v9 is in EUR but the prices are in USD" in reply.text
    assert "\n" not in reply.text


async def test_prices_set_is_versioned_and_needs_manage(ctx: CommandContext) -> None:
    refused = await run_command(ctx, MEMBER, "prices set", {"key": "pue", "value": 1.2})
    assert refused.is_error and "Manage Server" in refused.text
    await run_command(ctx, CONSOLE, "prices set", {"key": "pue", "value": 1.2})
    await run_command(ctx, CONSOLE, "prices set", {"key": "pue", "value": 1.3})
    sheets = [s for s in _rows(ctx.session_factory, PriceSheet) if s.changed_by != "settings"]
    assert [s.prices["pue"] for s in sheets] == ["1.2", "1.3"]
    shown = await run_command(ctx, CONSOLE, "prices show", {})
    assert {f.name: f.value for f in shown.fields}["pue"] == "1.3 (configured by console:console)"


async def test_budget_set_and_show(ctx: CommandContext) -> None:
    done = await run_command(
        ctx, CONSOLE, "budget set", {"limit": 12.5, "scope": "channel", "value": "77"}
    )
    assert "channel 77" in done.text and "12.50 USD" in done.text
    bad = await run_command(ctx, CONSOLE, "budget set", {"limit": 5, "scope": "channel"})
    assert bad.is_error and "needs a value" in bad.text
    shown = await run_command(ctx, CONSOLE, "budget show", {})
    assert [f.name for f in shown.fields] == ["channel 77"]


async def test_budget_delete_and_bad_channel_ids(ctx: CommandContext) -> None:
    for bad in ("\u00b2", str(10**23)):
        refused = await run_command(
            ctx, CONSOLE, "budget set", {"limit": 5, "scope": "channel", "value": bad}
        )
        assert refused.is_error and "numeric id" in refused.text and "\n" not in refused.text
    await run_command(ctx, CONSOLE, "budget set", {"limit": 5, "scope": "channel", "value": "77"})
    done = await run_command(ctx, CONSOLE, "budget delete", {"scope": "channel", "value": "77"})
    assert done.text == "Budget for channel 77 deleted, with its alerts."
    shown = await run_command(ctx, CONSOLE, "budget show", {})
    assert shown.fields == ()
    again = await run_command(ctx, CONSOLE, "budget delete", {"scope": "channel", "value": "77"})
    assert again.is_error and "no budget for channel 77" in again.text


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("nope", {}, "Unknown command"),
        ("classify", {}, "needs `text`"),
        ("classify", {"text": "x" * 2001}, "too long"),
        ("cost", {"period": "fortnight"}, "bad period"),
        (
            "cost",
            {"period": (utc_now() + timedelta(days=3)).date().isoformat() + "..2999-01-01"},
            "future",
        ),
        ("cost", {"group_by": "colour"}, "must be one of"),
        ("budget set", {"limit": 2_000_000}, "out of range"),
        ("budget set", {"limit": "ten"}, "must be a number"),
        ("prices set", {"key": "gpu_hour", "value": float("nan")}, "finite"),
        ("help", {"verbose": "yes"}, "no option"),
    ],
)
async def test_bad_input_is_answered_clearly(
    ctx: CommandContext, name: str, options: dict, message: str
) -> None:
    reply = await run_command(ctx, CONSOLE, name, options)
    assert reply.is_error and reply.ephemeral and message in reply.text


async def test_models_health_and_help(ctx: CommandContext) -> None:
    models = await run_command(ctx, CONSOLE, "models", {})
    assert {f.name for f in models.fields} == {"intent", "sentiment"}
    assert "metrics (measured" in models.fields[0].value
    health = await run_command(ctx, CONSOLE, "health", {})
    assert health.text == "All good."
    help_fields = (await run_command(ctx, CONSOLE, "help", {})).fields
    assert len(help_fields) == len(SPECS) + 1 and help_fields[-1].name == "periods"
    assert "week: the last 7 local days, today included" in help_fields[-1].value


async def test_down_service_is_a_clear_reply(ctx: CommandContext, unused_url: str) -> None:
    async with httpx.AsyncClient() as http:
        down = ModelServiceClient(http, base_url=unused_url, timeout_s=2)
        reply = await run_command(
            CommandContext(service=down, session_factory=ctx.session_factory, costing=ctx.costing),
            CONSOLE,
            "classify",
            {"text": "hi"},
        )
        health = await run_command(
            CommandContext(
                service=down,
                session_factory=ctx.session_factory,
                costing=ctx.costing,
                scheduler=lambda: "stopped",
            ),
            CONSOLE,
            "health",
            {},
        )
        with pytest.raises(ServiceUnavailableError):
            await down.classify("hi", source=CONSOLE.source("classify"))
    assert reply.is_error and "not answering" in reply.text and "costbot serve" in reply.text
    values = {f.name: f.value for f in health.fields}
    assert values["model service"].startswith("down") and values["scheduler"] == "down: stopped"
    assert values["database"] == "ok"


async def test_support_message_recorded_as_outcome(
    ctx: CommandContext, sessions: SessionFactory, settings: BotConfig
) -> None:
    from bot.runtime import open_resources

    async with open_resources(settings) as res:
        context = res.support(user_id="u1", salt="s")
        resolved = await handle_support_message("my card has not arrived", context=context)
        escalated = await handle_support_message("this is terrible", context=context)
        res.writer.flush()
    assert (resolved.outcome, resolved.intent) == ("resolved", "card_arrival")
    assert escalated.outcome == "escalated"
    rows = _rows(sessions, SupportOutcome)
    assert sorted(r.outcome for r in rows) == ["escalated", "resolved"]
    assert all(r.user_hash and "u1" not in r.user_hash for r in rows)


def test_decision_rules() -> None:
    templates, policy = load_templates(), load_support_policy()

    def reason(**signals: Any) -> tuple[str, str]:
        base = {"intent_score": 0.9, "runner_up_score": 0.05, "sentiment": "neutral"}
        decision = decide(MessageSignals(**(base | signals)), templates=templates, policy=policy)
        return decision.outcome, decision.reason

    assert reason(intent="card_arrival") == ("resolved", "template")
    assert reason(intent="unknown") == ("escalated", "intent unknown")
    assert reason(intent="lost_or_stolen_card") == (
        "escalated",
        "intent needs a person: lost_or_stolen_card",
    )
    assert reason(intent="card_arrival", runner_up_score=0.8) == ("escalated", "ambiguous intent")
    polite = {"sentiment": "negative", "sentiment_score": 0.6}
    assert reason(intent="card_arrival", **polite) == ("resolved", "template")
    angry = {"sentiment": "negative", "sentiment_score": 0.99}
    assert reason(intent="card_arrival", **angry) == ("escalated", "strongly negative sentiment")
    asks = {"text": "Can I talk to a person please"}
    assert reason(intent="card_arrival", **asks) == ("escalated", "asked for a person")
    fallback = decide(
        MessageSignals("brand_new_intent", 0.9, 0.0), templates=templates, policy=policy
    )
    assert (fallback.outcome, fallback.text) == ("fallback", templates.fallback)


def test_templates_cover_every_banking77_intent() -> None:
    from pathlib import Path

    names = Path(__file__).with_name("banking77_intents.txt").read_text(encoding="utf-8")
    labels = {line for line in names.splitlines() if line and not line.startswith("#")}
    templates = load_templates()
    assert set(templates.intents) == labels and len(labels) == 77
    assert all(20 <= len(text) <= 300 for text in templates.intents.values())
