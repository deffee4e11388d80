"""Daily cost forecasting methods with weekly seasonality, their backtest and their intervals.

Pure numbers (a daily series in currency units, oldest first); reading the series and choosing
the period live in `costing.forecast`. statsmodels is imported inside the ETS method only, so the
CLI and the bot start without it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SEASON = 7  # days: the weekly pattern
MIN_HISTORY = SEASON  # a seasonal-naive forecast needs one whole week
MIN_ETS_TRAIN = 2 * SEASON  # Holt-Winters needs two seasons to estimate its start
BACKTEST_HORIZON = SEASON  # the backtest scores 7-day-ahead forecasts
SIMULATIONS = 2000
SEED = 20_260_101  # fixed: the same history gives the same interval on every run

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Method:
    """A forecasting method: `point(history, h)` gives h daily values, `paths(history, h, n)`
    n simulated futures (shape h × n) for the interval."""

    key: str
    description: str
    point: Callable[[Array, int], Array]
    paths: Callable[[Array, int, int], Array]
    min_train: int


def _naive_point(history: Array, horizon: int) -> Array:
    last_week = history[-SEASON:]
    return np.array([last_week[i % SEASON] for i in range(horizon)], dtype=float)


def _naive_paths(history: Array, horizon: int, count: int) -> Array:
    """Seasonal random walk: each week ahead adds one drawn week-over-week change per day."""
    changes = history[SEASON:] - history[:-SEASON]
    if changes.size == 0:
        changes = np.zeros(1)
    rng = np.random.default_rng(SEED)
    draws = rng.choice(changes, size=(horizon, count))
    paths = np.empty((horizon, count))
    for day in range(horizon):
        before = paths[day - SEASON] if day >= SEASON else history[-SEASON + day]
        paths[day] = before + draws[day]
    return np.clip(paths, 0, None)


def _ets_fit(history: Array) -> object:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    model = ExponentialSmoothing(
        history,
        trend=None,
        seasonal="add",
        seasonal_periods=SEASON,
        initialization_method="estimated",
    )
    # Convergence chatter and log(0) in the information criteria of a perfect fit: the
    # backtest judges the fit, not these.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return model.fit()


def _ets_point(history: Array, horizon: int) -> Array:
    fit = _ets_fit(history)
    values = fit.forecast(horizon)  # type: ignore[attr-defined]
    return np.clip(np.asarray(values, dtype=np.float64), 0, None)


def _ets_paths(history: Array, horizon: int, count: int) -> Array:
    fit = _ets_fit(history)
    simulated = fit.simulate(  # type: ignore[attr-defined]
        horizon,
        repetitions=count,
        error="add",
        random_errors="bootstrap",
        rng=np.random.default_rng(SEED),
    )
    return np.clip(np.asarray(simulated, dtype=np.float64).reshape(horizon, count), 0, None)


SEASONAL_NAIVE = Method(
    "seasonal_naive",
    "seasonal naive: each day as the same weekday last week",
    _naive_point,
    _naive_paths,
    MIN_HISTORY,
)
ETS = Method(
    "ets",
    "ETS(A,N,A): exponential smoothing with an additive weekly season, no trend "
    "(statsmodels ExponentialSmoothing)",
    _ets_point,
    _ets_paths,
    MIN_ETS_TRAIN,
)
METHODS = (SEASONAL_NAIVE, ETS)


def backtest_mape(history: Array, method: Method) -> float | None:
    """Mean absolute percentage error (in %) of the method's 7-day-ahead daily forecasts, from
    origins a week apart ending at the last day; days with zero actual cost are skipped.
    None when the history holds no origin with enough training days before it."""
    errors: list[float] = []
    origin = len(history) - BACKTEST_HORIZON
    while origin >= method.min_train:
        actual = history[origin : origin + BACKTEST_HORIZON]
        predicted = method.point(history[:origin], BACKTEST_HORIZON)
        kept = actual > 0
        errors.extend(np.abs(actual[kept] - predicted[kept]) / actual[kept])
        origin -= BACKTEST_HORIZON
    return float(np.mean(errors) * 100) if errors else None


def choose_method(history: Array) -> tuple[Method, dict[str, float | None]]:
    """The method with the lower backtest MAPE (ETS only if strictly better than seasonal
    naive), and every candidate's MAPE by key."""
    scores = {m.key: backtest_mape(history, m) for m in METHODS}
    naive, ets = scores[SEASONAL_NAIVE.key], scores[ETS.key]
    if ets is not None and (naive is None or ets < naive):
        return ETS, scores
    return SEASONAL_NAIVE, scores


def interval(paths: Array, *, coverage_pct: int) -> tuple[float, float]:
    """The central interval of the simulated totals (paths summed over the horizon)."""
    totals = paths.sum(axis=0)
    tail = (100 - coverage_pct) / 2
    low, high = np.percentile(totals, [tail, 100 - tail])
    return float(low), float(high)


def daily_band(paths: Array, *, coverage_pct: int) -> tuple[Array, Array]:
    """Per day, the central interval of the simulated values (low row, high row)."""
    tail = (100 - coverage_pct) / 2
    low, high = np.percentile(paths, [tail, 100 - tail], axis=1)
    return low, high
