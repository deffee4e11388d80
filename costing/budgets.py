"""Monthly budgets per scope (all, one model, one channel) and the alerts they raise once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from costing.errors import BudgetError
from costing.figures import exact
from costing.periods import parse_period
from costing.readers import SCOPES, Scope, read_totals
from costing.units import Money
from storage.db import SessionFactory, session_scope
from storage.tables import Alert, Budget

THRESHOLDS_PCT = (80, 100)


@dataclass(frozen=True)
class BudgetView:
    """A budget as callers see it."""

    id: int
    scope: Scope
    limit: Money
    currency: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "scope": self.scope.kind,
            "value": self.scope.value,
            "limit": exact(self.limit),
            "currency": self.currency,
        }


@dataclass(frozen=True)
class AlertView:
    """A crossed threshold waiting to be posted (or already posted)."""

    id: int
    budget: BudgetView
    month: str
    threshold_pct: int
    spent: Money
    posted_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "budget": self.budget.to_json(),
            "month": self.month,
            "threshold_pct": self.threshold_pct,
            "spent": exact(self.spent),
            "posted_at": self.posted_at.isoformat() if self.posted_at else None,
        }


def make_scope(kind: str, value: str = "") -> Scope:
    """A validated budget scope: ``all``, ``model NAME`` or ``channel ID``."""
    if kind not in SCOPES:
        raise BudgetError(f"bad budget scope {kind!r}: expected one of {'|'.join(SCOPES)}")
    if kind == "all":
        return Scope("all", "")
    if not value:
        raise BudgetError(f"a {kind} budget needs a value (the {kind} name or id)")
    if kind == "channel" and not value.isdigit():
        raise BudgetError(f"a channel budget needs a numeric channel id, got {value!r}")
    return Scope(kind, value)


def _view(row: Budget) -> BudgetView:
    assert row.id is not None
    scope = Scope(row.scope_kind, row.scope_value)
    return BudgetView(row.id, scope, Money(row.monthly_limit_pico), row.currency)


def set_budget(
    session_factory: SessionFactory,
    *,
    scope: Scope,
    limit: Money,
    now: datetime,
    currency: str = "USD",
    changed_by: str = "",
) -> BudgetView:
    """Create or change the monthly limit of a scope."""
    if limit.pico <= 0:
        raise BudgetError("a budget limit must be positive")
    with session_scope(session_factory) as session:
        row = _find(session, scope) or Budget(scope_kind=scope.kind, scope_value=scope.value)
        row.monthly_limit_pico, row.currency = limit.pico, currency
        row.changed_by, row.updated_at = changed_by, now
        session.add(row)
        session.flush()
        return _view(row)


def _find(session: Session, scope: Scope) -> Budget | None:
    query = select(Budget).where(Budget.scope_kind == scope.kind, Budget.scope_value == scope.value)
    return session.exec(query).first()


def list_budgets(session_factory: SessionFactory) -> list[BudgetView]:
    """Every budget, by scope."""
    with session_scope(session_factory) as session:
        query = select(Budget).order_by(col(Budget.scope_kind), col(Budget.scope_value))
        return [_view(row) for row in session.exec(query)]


def check_budgets(
    session_factory: SessionFactory, *, now: datetime, timezone: str = "UTC"
) -> list[AlertView]:
    """Record an alert for each threshold crossed this month (once); return the new ones."""
    period = parse_period("month", now=now, timezone=timezone)
    month = period.local_day(period.start).strftime("%Y-%m")
    created: list[AlertView] = []
    for budget in list_budgets(session_factory):
        sums = read_totals(session_factory, period=period, scope=budget.scope)
        spent = Money(sum(t.total_pico for t in sums.values()))
        for pct in THRESHOLDS_PCT:
            if spent.pico * 100 >= budget.limit.pico * pct:
                alert = _raise_once(
                    session_factory, budget=budget, month=month, pct=pct, spent=spent, now=now
                )
                created.extend([alert] if alert else [])
    return created


def _raise_once(
    session_factory: SessionFactory,
    *,
    budget: BudgetView,
    month: str,
    pct: int,
    spent: Money,
    now: datetime,
) -> AlertView | None:
    values = {
        "budget_id": budget.id,
        "month": month,
        "threshold_pct": pct,
        "spent_pico": spent.pico,
        "limit_pico": budget.limit.pico,
        "created_at": now,
    }
    with session_scope(session_factory) as session:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        table = Alert.__table__  # type: ignore[attr-defined]
        insert = (
            dialect.insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["budget_id", "month", "threshold_pct"])
        )
        inserted = session.execute(insert.returning(table.c.id)).scalar()
    if inserted is None:
        return None
    return AlertView(int(inserted), budget, month, pct, spent, None)


def _alert_view(row: Alert, budget: BudgetView) -> AlertView:
    spent = Money(row.spent_pico)
    return AlertView(row.id or 0, budget, row.month, row.threshold_pct, spent, row.posted_at)


def _alerts(session_factory: SessionFactory, *, pending: bool) -> list[AlertView]:
    budgets = {b.id: b for b in list_budgets(session_factory)}
    query = select(Alert).order_by(col(Alert.id))
    if pending:
        query = query.where(col(Alert.posted_at).is_(None))
    with session_scope(session_factory) as session:
        return [_alert_view(row, budgets[row.budget_id]) for row in session.exec(query)]


def pending_alerts(session_factory: SessionFactory) -> list[AlertView]:
    """Alerts not yet posted, oldest first."""
    return _alerts(session_factory, pending=True)


def mark_posted(session_factory: SessionFactory, alert_id: int, *, now: datetime) -> None:
    """Record that an alert was posted, so it is never posted again."""
    with session_scope(session_factory) as session:
        row = session.get(Alert, alert_id)
        if row is None:
            raise BudgetError(f"no alert with id {alert_id}")
        row.posted_at = row.posted_at or now
        session.add(row)
