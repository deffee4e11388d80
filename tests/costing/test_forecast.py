"""The cost forecast: a known weekly pattern lands within its interval; budgets' exhaustion dates;
bad input is one line. Storage parts run on SQLite and PostgreSQL (the `sessions` fixture)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import Engine

from costing import forecast_models as fm
from costing.budgets import make_scope, set_budget
from costing.errors import BudgetError
from costing.forecast import (
    ForecastInputs,
    ForecastPeriodError,
    NotEnoughHistoryError,
    Series,
    exhaustion_date,
    forecast,
    forecast_span,
    project,
)
from costing.settings import ForecastSettings
from costing.units import Money
from storage.db import SessionFactory
from tests.costing.conftest import insert_rows
from tests.factories import at, inference_row

PATTERN = np.array([10, 12, 11, 13, 15, 4, 3], dtype=float)  # Mon..Sun, currency units


def _weeks(weeks: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.tile(PATTERN, weeks) + rng.normal(0, 0.6, 7 * weeks), 0, None)


def test_known_weekly_pattern_lands_within_the_interval() -> None:
    history, future = _weeks(8, seed=1), _weeks(4, seed=2)
    result = project(
        Series(date(2026, 1, 5), tuple(history)),
        spent=Decimal(0),
        horizon=28,
        today_left=1.0,
        coverage_pct=90,
    )
    assert result.low <= future.sum() <= result.high
    assert abs(float(result.projected) - PATTERN.sum() * 4) < 0.03 * PATTERN.sum() * 4
    assert result.backtest_mape is not None and result.backtest_mape < 10
    assert set(result.candidates) == {"seasonal_naive", "ets"}


def test_seasonal_naive_repeats_last_week_and_backtests_to_zero_on_a_clean_pattern() -> None:
    history = np.tile(PATTERN, 3)
    assert list(fm.SEASONAL_NAIVE.point(history, 9)) == [*PATTERN, *PATTERN[:2]]
    assert fm.backtest_mape(history, fm.SEASONAL_NAIVE) == 0.0
    method, _ = fm.choose_method(history)
    assert method is fm.SEASONAL_NAIVE  # ETS must be strictly better to be chosen


def test_exhaustion_date_is_the_first_day_the_cumulative_projection_reaches_the_limit() -> None:
    history = Series(date(2026, 1, 5), tuple(np.tile(PATTERN, 2)))
    result = project(history, spent=Decimal(20), horizon=7, today_left=1.0, coverage_pct=90)
    today = date(2026, 1, 19)  # a Monday: 20 spent, then 10, 12, 11 ... per day
    assert exhaustion_date(result, limit=Decimal(42), today=today) == today + timedelta(days=1)
    assert exhaustion_date(result, limit=Decimal(1000), today=today) is None
    assert exhaustion_date(result, limit=Decimal(5), today=today) == today


def test_too_little_history_and_unknown_period_are_one_line_errors() -> None:
    with pytest.raises(NotEnoughHistoryError, match="at least 7 whole days") as error:
        project(Series(date(2026, 1, 1), (1.0,) * 5), spent=Decimal(0), horizon=3,
                today_left=1.0, coverage_pct=90)  # fmt: skip
    assert "\n" not in str(error.value)
    with pytest.raises(ForecastPeriodError, match=r"expected one of month\|7d\|30d") as bad:
        forecast_span("fortnight", today=date(2026, 3, 1))
    assert "\n" not in str(bad.value)
    assert forecast_span("month", today=date(2026, 2, 10)) == (date(2026, 2, 1), date(2026, 2, 28))


NOW = at("2026-03-18T12:00")  # a Wednesday


def _history(engine: Engine, *, days: int, model: str = "all-MiniLM-L6-v2") -> None:
    """One record per day at noon, costing PATTERN[weekday] currency units."""
    rows = []
    for back in range(1, days + 1):
        moment = NOW - timedelta(days=back)
        pico = int(PATTERN[moment.weekday()] * 10**12)
        rows.append(
            inference_row(
                created_at=moment, cost_compute_pico=pico, cost_energy_pico=0, model_name=model
            )
        )
    insert_rows(engine, rows)


def _inputs(sessions: SessionFactory, now: datetime = NOW) -> ForecastInputs:
    return ForecastInputs(sessions, ForecastSettings(), now, "UTC", "USD")


def test_forecast_of_the_month_from_stored_records(
    engine: Engine, sessions: SessionFactory
) -> None:
    _history(engine, days=35)
    set_budget(sessions, scope=make_scope("all"), limit=Money.from_decimal("300"), now=NOW)
    data = forecast(_inputs(sessions), period="month").to_json()
    # March 1..17 spent (measured), then the same weekday pattern for the 18th..31st (today: half)
    spent = sum(PATTERN[date(2026, 3, d).weekday()] for d in range(1, 18))
    rest = PATTERN[2] / 2 + sum(PATTERN[date(2026, 3, d).weekday()] for d in range(19, 32))
    assert Decimal(data["spent_so_far"]) == spent
    tolerance = Decimal("1e-6")
    assert Decimal(data["projected_cost"]) == pytest.approx(Decimal(spent + rest), abs=tolerance)
    assert Decimal(data["interval"]["low"]) <= Decimal(data["projected_cost"])
    assert Decimal(data["interval"]["high"]) >= Decimal(data["projected_cost"])
    assert data["method"] == "seasonal_naive" and data["backtest_mape"] == 0.0
    assert data["currency"] == "USD" and data["history_days"] == 35
    [budget] = data["budgets"]
    assert budget["exhaustion_date"] is None  # 256.5 projected < 300
    set_budget(sessions, scope=make_scope("all"), limit=Money.from_decimal("200"), now=NOW)
    [budget] = forecast(_inputs(sessions)).to_json()["budgets"]
    assert budget["exhaustion_date"] == "2026-03-22"  # 158 + 5.5 + 13 + 15 + 4 + 3 = 198.5 on 21st


def test_a_budget_in_another_currency_is_a_one_line_error(
    engine: Engine, sessions: SessionFactory
) -> None:
    _history(engine, days=14)
    set_budget(
        sessions, scope=make_scope("all"), limit=Money.from_decimal("50"), now=NOW, currency="EUR"
    )
    with pytest.raises(BudgetError, match="is in EUR but costs are priced in USD") as error:
        forecast(_inputs(sessions))
    assert "\n" not in str(error.value)
