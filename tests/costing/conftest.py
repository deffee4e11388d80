"""Helpers of the costing tests: record inserts and rows (fixtures live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, insert

from storage.tables import InferenceRecord, SupportOutcome, TrainingRun
from storage.types import utc_now
from tests.factories import at, inference_row

NOW = at("2026-03-29T12:00")  # the clock of the `now` fixture (tests/conftest.py)


def insert_rows(
    engine: Engine, rows: Iterable[dict[str, Any]], table: Any = InferenceRecord
) -> None:
    """Bulk-insert rows as the writer does (one transaction)."""
    rows = list(rows)
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(table), rows)


def three_weeks(engine: Engine) -> None:
    """One record a day for the 21 days before now, day d costing (d % 7 + 1) * 10**9 pico:
    a weekly pattern to forecast on."""
    now = utc_now()
    rows = [
        inference_row(created_at=now - timedelta(days=d), cost_compute_pico=(d % 7 + 1) * 10**9)
        for d in range(1, 22)
    ]
    insert_rows(engine, rows)


def outcome_row(**overrides: Any) -> dict[str, Any]:
    """Column values of one SupportOutcome."""
    from storage.tables import new_uid

    return {"uid": new_uid(), "created_at": NOW, "outcome": "resolved", **overrides}


def training_row(**overrides: Any) -> dict[str, Any]:
    """Column values of one TrainingRun."""
    from storage.tables import new_uid

    row = {
        "uid": new_uid(),
        "started_at": NOW,
        "finished_at": NOW,
        "task": "intent",
        "base_model": "all-MiniLM-L6-v2",
        "cost_compute_pico": 0,
        "cost_energy_pico": 0,
        "cost_hardware_pico": 0,
        "cost_data_pico": 0,
        "metrics": {},
        "recipe": {},
    }
    return {**row, **overrides}


__all__ = ["SupportOutcome", "TrainingRun", "insert_rows", "outcome_row", "training_row"]
