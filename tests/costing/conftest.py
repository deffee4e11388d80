"""Fixtures for the costing tests: sessions on both backends, a fixed clock, record inserts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from storage.db import SessionFactory, session_factory
from storage.tables import InferenceRecord, SupportOutcome, TrainingRun
from tests.factories import at

NOW = at("2026-03-29T12:00")


@pytest.fixture
def now() -> datetime:
    """The fixed clock of every costing test."""
    return NOW


@pytest.fixture
def sessions(engine: Engine) -> SessionFactory:
    """A session factory on a migrated database of each backend."""
    return session_factory(engine)


def insert_rows(
    engine: Engine, rows: Iterable[dict[str, Any]], table: Any = InferenceRecord
) -> None:
    """Bulk-insert rows as the writer does (one transaction)."""
    rows = list(rows)
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(table), rows)


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
