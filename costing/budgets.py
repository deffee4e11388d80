"""Monthly budgets per scope (all, one model, one channel) and the alerts they raise once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from costing.claims import forget_alert_claims
from costing.errors import BudgetError
from costing.figures import exact
from costing.periods import Period, parse_period
from costing.readers import SCOPES, Scope, read_totals
from costing.units import Money
from storage.db import SessionFactory, session_scope
from storage.tables import Alert, Budget, CostRollup, InferenceRecord

log = logging.getLogger(__name__)
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


MAX_CHANNEL_ID = 2**64 - 1  # Discord ids are unsigned 64-bit snowflakes
MAX_VALUE_CHARS = 200  # budget.scope_value


def make_scope(kind: str, value: str = "") -> Scope:
    """A validated budget scope: ``all``, ``model NAME`` or ``channel ID``.

    A channel id is 1 to 20 ASCII digits, 1..2^64-1, kept without leading zeros; BudgetError
    (one line, saying what to give) otherwise. Whether a model exists is checked by set_budget."""
    if kind not in SCOPES:
        raise BudgetError(f"bad budget scope {kind!r}: expected one of {'|'.join(SCOPES)}")
    if kind == "all":
        return Scope("all", "")
    value = value.strip()
    if not value:
        raise BudgetError(f"a {kind} budget needs a value (the {kind} name or id)")
    if kind == "channel":
        return Scope("channel", _channel_id(value))
    if len(value) > MAX_VALUE_CHARS:
        raise BudgetError(f"a model name has at most {MAX_VALUE_CHARS} characters")
    return Scope(kind, value)


def _channel_id(value: str) -> str:
    digits = value.isascii() and value.isdigit() and len(value) <= 20
    if not digits or not 0 < int(value) <= MAX_CHANNEL_ID:
        raise BudgetError(
            f"bad channel id {value[:40]!r}: give the channel's numeric id (ASCII digits, "
            "1 to 2^64-1; in Discord: Developer Mode, then right-click the channel, Copy ID)"
        )
    return str(int(value))


def scope_problem(scope: Scope) -> str | None:
    """Why a stored scope is invalid (written before scopes were checked), or None."""
    try:
        valid = make_scope(scope.kind, scope.value)
    except BudgetError as error:
        return str(error)
    return None if valid == scope else f"scope {scope.value!r} is not in its normal form"


def scope_name(scope: Scope) -> str:
    """``all``, ``model NAME`` or ``channel ID``: how a scope is shown and typed."""
    return scope.kind + (f" {scope.value}" if scope.value else "")


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
    """Create or change the monthly limit of a scope; a changed limit re-arms its alerts.

    BudgetError for a limit that is not positive, an invalid scope or a model that never ran."""
    if limit.pico <= 0:
        raise BudgetError("a budget limit must be positive, e.g. `budget set 50`")
    scope = make_scope(scope.kind, scope.value)
    with session_scope(session_factory) as session:
        if scope.kind == "model":
            _require_model(session, scope.value)
        row = _find(session, scope) or Budget(scope_kind=scope.kind, scope_value=scope.value)
        rearm = row.id is not None and row.monthly_limit_pico != limit.pico
        row.monthly_limit_pico, row.currency = limit.pico, currency
        row.changed_by, row.updated_at = changed_by, now
        session.add(row)
        session.flush()
        view = _view(row)
    if rearm:
        _drop_alerts(session_factory, view.id)
    return view


def delete_budget(session_factory: SessionFactory, *, kind: str, value: str = "") -> BudgetView:
    """Delete the budget of a scope, with its alerts; BudgetError when there is none.

    The value is looked up as stored first, so a scope stored before scopes were checked
    (e.g. a channel ``²``) can still be deleted."""
    with session_scope(session_factory) as session:
        row = _find(session, Scope(kind, value)) or _find(session, make_scope(kind, value))
        if row is None:
            name = scope_name(Scope(kind, value))
            raise BudgetError(f"no budget for {name}; `budget show` lists the budgets")
        view = _view(row)
    _drop_alerts(session_factory, view.id)
    with session_scope(session_factory) as session:
        session.execute(sa_delete(Budget).where(col(Budget.id) == view.id))
    return view


def _drop_alerts(session_factory: SessionFactory, budget_id: int) -> None:
    """Forget a budget's alerts and their claims, so each threshold can fire again."""
    with session_scope(session_factory) as session:
        ids = session.exec(select(Alert.id).where(Alert.budget_id == budget_id)).all()
        session.execute(sa_delete(Alert).where(col(Alert.budget_id) == budget_id))
    forget_alert_claims(session_factory, [alert_key(int(i)) for i in ids if i is not None])


def _require_model(session: Session, name: str) -> None:
    for table in (CostRollup, InferenceRecord):
        query = select(table.model_name).where(table.model_name == name).limit(1)
        if session.exec(query).first() is not None:
            return
    query = select(CostRollup.model_name).where(CostRollup.model_name != "").distinct().limit(10)
    known = ", ".join(sorted(session.exec(query).all())) or "none has run yet"
    raise BudgetError(
        f"no model named {name[:60]!r} has run here (models with costs: {known}); "
        "check the name with `cost month group_by:model`"
    )


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
    """Record an alert for each threshold crossed this month (once); return the new ones.

    A budget that cannot be checked (an invalid stored scope) is logged and skipped: it never
    stops the others' checks."""
    period = parse_period("month", now=now, timezone=timezone)
    month = period.local_day(period.start).strftime("%Y-%m")
    created: list[AlertView] = []
    for budget in list_budgets(session_factory):
        problem = scope_problem(budget.scope)
        if problem is not None:
            log.warning(
                "budget %d (%s) skipped: %s; delete it with `costbot budget delete %s`",
                budget.id,
                scope_name(budget.scope)[:60],
                problem,
                budget.scope.kind,
            )
            continue
        created.extend(_check_one(session_factory, budget, period=period, month=month, now=now))
    return created


def _check_one(
    session_factory: SessionFactory,
    budget: BudgetView,
    *,
    period: Period,
    month: str,
    now: datetime,
) -> list[AlertView]:
    sums = read_totals(session_factory, period=period, scope=budget.scope)
    spent = Money(sum(t.total_pico for t in sums.values()))
    created = []
    for pct in THRESHOLDS_PCT:
        if spent.pico * 100 >= budget.limit.pico * pct:
            alert = _raise_once(
                session_factory, budget=budget, month=month, pct=pct, spent=spent, now=now
            )
            created.extend([alert] if alert else [])
    return created


def alert_key(alert_id: int) -> str:
    """The claim key of a budget alert (costing.claims.claim_alert)."""
    return f"budget:{alert_id}"


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
