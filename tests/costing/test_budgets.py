from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from costing.budgets import (
    check_budgets,
    delete_budget,
    list_budgets,
    make_scope,
    mark_posted,
    pending_alerts,
    set_budget,
)
from costing.errors import BudgetError
from costing.units import Money
from storage.db import SessionFactory
from storage.tables import Budget
from tests.costing.conftest import insert_rows
from tests.factories import inference_row

COST = 1_000_000_000  # pico per record, spread over compute and energy below


def _spend(engine: Engine, now: datetime, count: int, **overrides: object) -> None:
    insert_rows(
        engine,
        [
            inference_row(
                created_at=now - timedelta(minutes=i + 1),
                cost_compute_pico=COST // 2,
                cost_energy_pico=COST // 2,
                **overrides,
            )
            for i in range(count)
        ],
    )


def test_each_threshold_alerts_once_per_month(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    budget = set_budget(sessions, scope=make_scope("all"), limit=Money(10 * COST), now=now)
    _spend(engine, now, 7)
    assert check_budgets(sessions, now=now) == []
    _spend(engine, now, 1)
    assert [a.threshold_pct for a in check_budgets(sessions, now=now)] == [80]
    _spend(engine, now, 2)
    assert [a.threshold_pct for a in check_budgets(sessions, now=now)] == [100]
    assert check_budgets(sessions, now=now) == []
    pending = pending_alerts(sessions)
    assert [(a.budget.id, a.threshold_pct, a.month) for a in pending] == [
        (budget.id, 80, "2026-03"),
        (budget.id, 100, "2026-03"),
    ]
    assert pending[1].spent == Money(10 * COST)
    mark_posted(sessions, pending[0].id, now=now)
    assert [a.threshold_pct for a in pending_alerts(sessions)] == [100]


def test_scoped_budgets_count_only_their_records(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    _spend(engine, now - timedelta(days=40), 1, model_name="other-model")  # ran last month
    set_budget(sessions, scope=make_scope("channel", "42"), limit=Money(2 * COST), now=now)
    set_budget(sessions, scope=make_scope("model", "other-model"), limit=Money(COST), now=now)
    _spend(engine, now, 3, channel_id=42)
    _spend(engine, now, 3, channel_id=7)
    alerts = check_budgets(sessions, now=now)
    assert {(a.budget.scope.kind, a.threshold_pct) for a in alerts} == {
        ("channel", 80),
        ("channel", 100),
    }


def test_set_budget_updates_the_scope(sessions: SessionFactory, now: datetime) -> None:
    set_budget(sessions, scope=make_scope("all"), limit=Money(5), now=now)
    set_budget(sessions, scope=make_scope("all"), limit=Money(9), now=now)
    assert [b.limit for b in list_budgets(sessions)] == [Money(9)]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("galaxy", ""),
        ("channel", "abc"),
        ("model", ""),
        ("channel", "\u00b2"),  # superscript two: str.isdigit() says yes
        ("channel", "\u0664\u0662"),  # Arabic-Indic digits
        ("channel", str(10**23)),
        ("channel", str(2**64)),
        ("channel", "0"),
        ("channel", "-5"),
        ("channel", "1e3"),
    ],
)
def test_bad_scopes_are_refused_in_one_line(kind: str, value: str) -> None:
    with pytest.raises(BudgetError) as refused:
        make_scope(kind, value)
    assert "\n" not in str(refused.value)


def test_channel_ids_are_whole_unsigned_64_bit_numbers() -> None:
    assert make_scope("channel", str(2**64 - 1)).value == str(2**64 - 1)
    assert make_scope("channel", " 0042 ").value == "42"


def test_model_budgets_need_a_model_that_ran(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    with pytest.raises(BudgetError, match="no model named 'gpt-9'"):
        set_budget(sessions, scope=make_scope("model", "gpt-9"), limit=Money(COST), now=now)
    _spend(engine, now, 1, model_name="gpt-9")
    set_budget(sessions, scope=make_scope("model", "gpt-9"), limit=Money(COST), now=now)
    with pytest.raises(BudgetError, match="positive"):
        set_budget(sessions, scope=make_scope("all"), limit=Money(0), now=now)


def _store_raw_budget(engine: Engine, now: datetime, value: str) -> None:
    """A budget row as the unchecked code stored it (before scopes were validated)."""
    insert_rows(
        engine,
        [
            {
                "scope_kind": "channel",
                "scope_value": value,
                "monthly_limit_pico": COST,
                "currency": "USD",
                "changed_by": "old",
                "updated_at": now,
            }
        ],
        table=Budget,
    )


@pytest.mark.parametrize("bad", ["\u00b2", str(10**23)])
def test_a_bad_budget_never_stops_the_others_checks(
    engine: Engine, sessions: SessionFactory, now: datetime, bad: str
) -> None:
    _store_raw_budget(engine, now, bad)
    set_budget(sessions, scope=make_scope("all"), limit=Money(COST), now=now)
    _spend(engine, now, 1)
    assert [(a.budget.scope.kind, a.threshold_pct) for a in check_budgets(sessions, now=now)] == [
        ("all", 80),
        ("all", 100),
    ]
    delete_budget(sessions, kind="channel", value=bad)
    assert [b.scope.kind for b in list_budgets(sessions)] == ["all"]


def test_a_changed_limit_re_arms_its_alerts(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    set_budget(sessions, scope=make_scope("all"), limit=Money(10 * COST), now=now)
    _spend(engine, now, 8)
    [first] = check_budgets(sessions, now=now)
    mark_posted(sessions, first.id, now=now)
    set_budget(sessions, scope=make_scope("all"), limit=Money(20 * COST), now=now)
    assert pending_alerts(sessions) == []
    _spend(engine, now, 8)
    assert [(a.threshold_pct, a.budget.limit) for a in check_budgets(sessions, now=now)] == [
        (80, Money(20 * COST))
    ]
    set_budget(sessions, scope=make_scope("all"), limit=Money(20 * COST), now=now)  # unchanged
    assert [a.threshold_pct for a in pending_alerts(sessions)] == [80]


def test_delete_removes_the_budget_and_its_alerts(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    set_budget(sessions, scope=make_scope("channel", "42"), limit=Money(COST), now=now)
    _spend(engine, now, 1, channel_id=42)
    assert len(check_budgets(sessions, now=now)) == 2
    deleted = delete_budget(sessions, kind="channel", value="042")
    assert (deleted.scope.value, list_budgets(sessions), pending_alerts(sessions)) == ("42", [], [])
    with pytest.raises(BudgetError, match="no budget for channel 42"):
        delete_budget(sessions, kind="channel", value="42")
