"""Small factories for test records (plain column values, as the service produces them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.tables import new_uid
from storage.types import utc_now


def inference_row(**overrides: Any) -> dict[str, Any]:
    """Column values of one plausible InferenceRecord."""
    row: dict[str, Any] = {
        "uid": new_uid(),
        "created_at": utc_now(),
        "request_id": new_uid(),
        "batch_id": new_uid(),
        "model_name": "all-MiniLM-L6-v2",
        "model_version": "test",
        "adapter_versions": "intent@test,sentiment@test",
        "tasks": "intent,sentiment",
        "source_kind": "http",
        "command": "classify",
        "guild_id": None,
        "channel_id": None,
        "user_hash": None,
        "input_chars": 30,
        "input_tokens": 9,
        "truncated": False,
        "predictions": {"intent": {"label": "card_arrival", "score": 0.93}},
        "queue_ms": 1.5,
        "compute_ms": 12.0,
        "batch_size": 8,
        "device": "cpu",
        "energy_uj": 120_000,
        "energy_method": "cpu-time-estimate",
        "cost_compute_pico": 15_000,
        "cost_energy_pico": 7_000,
        "cost_hardware_pico": 0,
        "cost_data_pico": 0,
        "co2_ng": 16_000,
        "price_sheet_id": None,
        "text": None,
        "replica_id": "0",
        "wall_us": 0,
        "cpu_us": 0,
        "gpu_us": 0,
    }
    row.update(overrides)
    return row


def at(text: str) -> datetime:
    """A UTC datetime from an ISO string, e.g. at('2026-03-29T01:30')."""
    from datetime import UTC

    return datetime.fromisoformat(text).replace(tzinfo=UTC)
