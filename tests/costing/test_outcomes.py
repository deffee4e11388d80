"""Value from measured conversation outcomes, on both databases: outcome rules, rates, measured
vs assumed value, wrong answers, payback over whole days, and a closed period that holds still."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from costing.cost_report import cost_report
from costing.outcomes import ConversationFacts, outcome_of
from costing.periods import Period, day_window, parse_period
from costing.prices import PriceBook, set_price
from costing.roi import DAYS_PER_MONTH
from costing.roi_report import roi_report
from costing.settings import PriceSettings, RoiSettings
from costing.units import Money
from storage.db import SessionFactory
from storage.tables import SupportConversation, TrainingRun, new_uid
from tests.costing.conftest import insert_rows, training_row
from tests.factories import inference_row

WINDOW = timedelta(hours=24)
ROI = RoiSettings(training_amortisation_months=6)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def conversation(opened: str, *, minutes: int | None = 30, **facts: Any) -> dict[str, Any]:
    """One support_conversation row; closed ``minutes`` after it opened (None: still open)."""
    start = at(opened)
    closed = None if minutes is None else start + timedelta(minutes=minutes)
    row = {
        "uid": new_uid(),
        "opened_at": start,
        "last_message_at": start,
        "closed_at": closed,
        "source_kind": "discord",
        "channel_id": 7,
        "user_hash": new_uid(),
        "state": "open" if closed is None else "closed",
        "closed_by": "" if closed is None else "timeout",
        "messages": 1,
        "answers": 1,
        "fallbacks": 0,
        "escalation_reason": "",
        "person_requested_after_answer": False,
        "solved": False,
    }
    return row | facts


def facts(**changes: Any) -> ConversationFacts:
    base = {
        "opened_at": at("2026-03-27T09:00"),
        "last_message_at": at("2026-03-27T09:00"),
        "closed_at": at("2026-03-27T09:30"),
        "answers": 1,
        "fallbacks": 0,
        "escalation_reason": "",
        "person_requested_after_answer": False,
        "solved": False,
        "closed_by": "timeout",
    }
    return ConversationFacts(**(base | changes))


@pytest.mark.parametrize(
    ("changes", "next_opened", "expected"),
    [
        ({}, None, "contained"),
        ({}, "2026-03-28T09:00", "reopened"),  # re-contact within 24 h
        ({}, "2026-03-28T10:00", "contained"),  # came back after the window
        ({"solved": True, "closed_by": "customer"}, None, "confirmed"),
        ({"person_requested_after_answer": True}, None, "reopened"),
        ({"escalation_reason": "intent unknown"}, None, "escalated"),
        ({"closed_by": "agent"}, None, "escalated"),
        ({"closed_at": None}, None, "pending"),
        ({"closed_at": at("2026-03-29T11:00")}, None, "pending"),  # window not over at noon
        ({"answers": 0, "fallbacks": 2}, None, "unanswered"),
    ],
)
def test_outcome_rules(changes: dict[str, Any], next_opened: str | None, expected: str) -> None:
    following = at(next_opened) if next_opened else None
    now = at("2026-03-29T12:00")
    assert outcome_of(facts(**changes), next_opened=following, now=now, window=WINDOW) == expected


def test_rates_come_from_whole_days_never_from_minutes_of_today() -> None:
    today = parse_period("today", now=at("2026-03-29T12:00"))
    week = parse_period("week", now=at("2026-03-29T12:00"))
    closed = parse_period("2026-03-20..2026-03-21", now=at("2026-03-29T12:00"))
    assert day_window(today) == Period(at("2026-03-28T00:00"), at("2026-03-29T00:00"))
    assert day_window(week) == Period(at("2026-03-23T00:00"), at("2026-03-29T00:00"))
    assert day_window(closed) == Period(at("2026-03-20T00:00"), at("2026-03-22T00:00"))
    assert today.full_end == at("2026-03-30T00:00") and closed.full_end is None


def _seed(engine: Engine) -> None:
    back = conversation("2026-03-26T10:00")
    insert_rows(
        engine,
        [
            *(conversation(f"2026-03-27T09:{m:02d}") for m in range(0, 45, 5)),  # 9 contained
            *(
                conversation(f"2026-03-28T10:0{m}", answers=0, escalation_reason="intent unknown")
                for m in range(3)
            ),
            back,  # its customer is back at 15:00: reopened
            conversation(
                "2026-03-26T15:00", user_hash=back["user_hash"], answers=0,
                escalation_reason="asked for a person",
            ),
            conversation("2026-03-28T11:00", solved=True, closed_by="customer"),  # confirmed
            conversation("2026-03-27T12:00", answers=0, fallbacks=1),  # unanswered
            conversation("2026-03-29T11:00", minutes=None),  # pending
        ],
        SupportConversation,
    )  # fmt: skip
    insert_rows(
        engine,
        [inference_row(created_at=at("2026-03-27T09:00") + timedelta(hours=i)) for i in range(48)],
    )
    run = training_row(
        finished_at=at("2026-02-27T12:00"), cost_compute_pico=40 * 10**12, task="support",
        adapter_version="v1",
    )  # fmt: skip
    insert_rows(engine, [run], TrainingRun)
    # deployed two days after training ended: amortised from then
    deployed = at("2026-03-01T12:00")
    insert_rows(engine, [inference_row(created_at=deployed, adapter_versions="support@v1")])


def _book(sessions: SessionFactory) -> PriceBook:
    return PriceBook(sessions, defaults=PriceSettings())


def test_roi_from_measured_outcomes(engine: Engine, sessions: SessionFactory) -> None:
    _seed(engine)
    now = at("2026-03-29T12:00")
    answer = roi_report(sessions, period="week", now=now, prices=_book(sessions), roi_settings=ROI)
    counts = answer.outcomes.counts
    assert counts == {
        "contained": 9, "confirmed": 1, "reopened": 1, "escalated": 4, "pending": 1,
        "unanswered": 1,
    }  # fmt: skip
    assert answer.containment_rate == pytest.approx(10 / 16)
    assert answer.recontact_rate == pytest.approx(1 / 16)
    assert answer.escalation_rate == pytest.approx(4 / 16)
    assert answer.outcomes.reasons == {"intent unknown": 3, "asked for a person": 1}
    assert answer.value == Money.from_decimal(Decimal(60))  # measured: 10 × 6.00
    assert answer.value_assumed == Money.from_decimal(Decimal(3))  # 1 pending × 6.00 × 0.5
    assert answer.wrong_answers == Money.from_decimal(Decimal(10))  # 1 × (6.00 + 4.00)
    assert answer.cost == answer.operating + answer.training_amortised + answer.wrong_answers
    assert answer.roi == pytest.approx((answer.value.pico - answer.cost.pico) / answer.cost.pico)
    whole = Period(at("2026-03-23T00:00"), at("2026-03-29T00:00"))
    days = cost_report(sessions, period=whole, group_by=None, now=now, prices=_book(sessions))
    net = (60 - 10) * 10**12 - days.total_with_idle.pico
    training = 40 * 10**12
    left = training - training * 28 * 86_400 // int(6 * DAYS_PER_MONTH * 86_400)
    assert answer.unamortised.pico == pytest.approx(left, abs=10**6)
    assert answer.payback_days == pytest.approx(answer.unamortised.pico / (net // 6))
    assert answer.rate_window == whole and answer.projection is not None


def test_roi_json_keeps_its_keys_and_adds_the_outcomes(
    engine: Engine, sessions: SessionFactory
) -> None:
    _seed(engine)
    answer = roi_report(
        sessions, period="week", now=at("2026-03-29T12:00"), prices=_book(sessions),
        roi_settings=ROI,
    )  # fmt: skip
    data = answer.to_json()
    old = {"from", "to", "value", "cost", "inputs", "roi", "payback_days", "resolved"}
    old |= {"escalated", "calls", "break_even_per_month", "training_total", "sources"}
    new = {"roi_percent", "value_usd", "cost_usd", "containment_rate", "recontact_rate"}
    new |= {"escalation_rate", "outcomes", "value_assumed", "wrong_answers", "projection"}
    assert old | new <= set(data)
    assert data["outcomes"]["contained"] == 9 and data["value_usd"] == data["value"] == "60"
    assert Decimal(data["roi_percent"]) == Decimal(data["roi"]) * 100
    assert data["fixed_costs"] == "pro-rated to the period so far"


def test_a_closed_period_holds_still(engine: Engine, sessions: SessionFactory) -> None:
    _seed(engine)
    figures = []
    for now in (at("2026-03-30T12:00"), at("2026-04-02T08:13"), at("2026-04-20T23:59")):
        answer = roi_report(
            sessions, period="2026-03-23..2026-03-28", now=now, prices=_book(sessions),
            roi_settings=ROI,
        )  # fmt: skip
        data = answer.to_json()
        figures.append({k: data[k] for k in ("roi_percent", "payback_days", "cost", "outcomes")})
        assert answer.projection is None
    assert figures[0] == figures[1] == figures[2]


def test_value_uses_the_ticket_cost_when_each_conversation_opened(
    engine: Engine, sessions: SessionFactory
) -> None:
    insert_rows(
        engine,
        [conversation("2026-03-27T07:00"), conversation("2026-03-27T11:00")],
        SupportConversation,
    )
    set_price(
        sessions, key="human_ticket_cost", value="8", now=at("2026-03-27T09:00"), changed_by="t",
        defaults=PriceSettings(),
    )  # fmt: skip
    answer = roi_report(
        sessions, period="2026-03-27..2026-03-27", now=at("2026-03-29T12:00"),
        prices=_book(sessions), roi_settings=ROI,
    )  # fmt: skip
    assert answer.value == Money.from_decimal(Decimal(14))  # 6 before the change, 8 after
    assert answer.ticket_costs == (Decimal("6.00"), Decimal("8"))
