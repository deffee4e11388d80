from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from storage.migrate import current_revision, downgrade, upgrade

NEW_COLUMNS = {"cost_energy_counter_pico", "cost_energy_power_time_pico", "resolved", "escalated"}


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("cost_rollup")}


def test_0002_adds_provenance_columns_and_takes_them_away(engine: Engine) -> None:
    downgrade(engine, "0002")  # later revisions are tested on their own
    assert current_revision(engine) == "0002"
    assert _columns(engine) >= NEW_COLUMNS
    downgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert NEW_COLUMNS.isdisjoint(_columns(engine))
    old_rollup = {
        "hour": "2026-03-29 01:00:00", "model_name": "m", "model_version": "v", "tasks": "t",
        "source_kind": "http", "command": "", "channel_id": 0, "count": 1, "input_tokens": 1,
        "input_chars": 1, "truncated": 0, "latency_ms_sum": 1.0, "latency_histogram": "{}",
        "energy_uj": 1, "energy_measured_uj": 0, "cost_compute_pico": 1, "cost_energy_pico": 1,
        "cost_hardware_pico": 0, "cost_data_pico": 0, "co2_ng": 1,
        "updated_at": "2026-03-29 01:00:00",
    }  # fmt: skip
    names = ", ".join(old_rollup)
    values = ", ".join(f":{name}" for name in old_rollup)
    with engine.begin() as connection:  # an existing roll-up gets zeros on upgrade
        connection.execute(text(f"INSERT INTO cost_rollup ({names}) VALUES ({values})"), old_rollup)
    upgrade(engine)
    assert _columns(engine) >= NEW_COLUMNS
    with engine.connect() as connection:
        row = connection.execute(
            text(f"SELECT {', '.join(sorted(NEW_COLUMNS))} FROM cost_rollup")
        ).one()
    assert tuple(row) == (0, 0, 0, 0)
