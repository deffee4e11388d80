from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from costing.budgets import (
    check_budgets,
    list_budgets,
    make_scope,
    mark_posted,
    pending_alerts,
    set_budget,
)
from costing.errors import BudgetError
from costing.units import Money
from storage.db import SessionFactory
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


@pytest.mark.parametrize(("kind", "value"), [("galaxy", ""), ("channel", "abc"), ("model", "")])
def test_bad_scopes_are_refused(kind: str, value: str) -> None:
    with pytest.raises(BudgetError):
        make_scope(kind, value)
