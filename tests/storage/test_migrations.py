from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from storage.migrate import current_revision, downgrade, upgrade

HEAD = "0007"
TABLES = {
    "inference_record",
    "training_run",
    "support_outcome",
    "cost_rollup",
    "job_state",
    "price_sheet",
    "budget",
    "alert",
    "scheduled_post",
    "support_conversation",
    "support_event",
}


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def _round_trip(engine: Engine, *, table: str, added: set[str], down_to: str) -> None:
    """`added` columns of `table` are there at head, gone at `down_to`, back after upgrade."""
    assert added <= _columns(engine, table)
    downgrade(engine, down_to)
    assert added.isdisjoint(_columns(engine, table))
    upgrade(engine)
    assert current_revision(engine) == HEAD and added <= _columns(engine, table)


def test_upgrade_creates_every_table_with_time_indexes(engine: Engine) -> None:
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) >= TABLES
    indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("inference_record")}
    assert ("created_at",) in indexed
    assert ("channel_id", "created_at") in indexed
    assert current_revision(engine) is not None


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    downgrade(engine, "base")
    assert TABLES.isdisjoint(inspect(engine).get_table_names())
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_0003_drops_the_unused_request_id_index_and_restores_it(engine: Engine) -> None:
    def indexed() -> set[tuple[str, ...]]:
        return {tuple(ix["column_names"]) for ix in inspect(engine).get_indexes("inference_record")}

    assert current_revision(engine) == HEAD
    assert ("request_id",) not in indexed()
    downgrade(engine, "0002")
    assert ("request_id",) in indexed()
    upgrade(engine)
    assert ("request_id",) not in indexed()


def test_0004_adds_conversations_and_links_outcomes_and_goes_back(engine: Engine) -> None:
    assert "conversation_uid" in _columns(engine, "support_outcome")
    downgrade(engine, "0003")
    assert {"support_conversation", "support_event"}.isdisjoint(inspect(engine).get_table_names())
    assert "conversation_uid" not in _columns(engine, "support_outcome")
    upgrade(engine)
    assert current_revision(engine) == HEAD
    assert "conversation_uid" in _columns(engine, "support_outcome")


def test_0005_adds_the_replica_and_time_shares_and_goes_back(engine: Engine) -> None:
    added = {"replica_id", "wall_us", "cpu_us", "gpu_us"}
    _round_trip(engine, table="inference_record", added=added, down_to="0004")


def test_0006_adds_message_facts_to_support_events_and_goes_back(engine: Engine) -> None:
    added = {"message_id", "intent", "confidence", "text"}
    _round_trip(engine, table="support_event", added=added, down_to="0005")


def test_0007_gives_training_runs_a_currency_and_datasets_and_goes_back(engine: Engine) -> None:
    downgrade(engine, "0006")
    assert {"currency", "datasets"}.isdisjoint(_columns(engine, "training_run"))
    with engine.begin() as connection:  # an existing run gets USD and no dataset versions
        connection.execute(
            text(
                "INSERT INTO training_run (uid, started_at, finished_at, task, base_model,"
                " adapter_version, adapter_path, data_path, data_rows, labels_count, epochs,"
                " lora_r, device, wall_s, cpu_s, gpu_s, energy_uj, energy_method,"
                " cost_compute_pico, cost_energy_pico, cost_hardware_pico, cost_data_pico,"
                " co2_ng, metrics, recipe) VALUES ('u1', '2026-03-29 01:00:00',"
                " '2026-03-29 02:00:00', 'support', 'm', 'v', '', '', 0, 0, 0, 0, 'cpu', 0, 0,"
                " 0, 0, 'cpu-time-estimate', 1, 0, 0, 0, 0, '{}', '{}')"
            )
        )
    upgrade(engine)
    assert current_revision(engine) == HEAD and {"currency", "datasets"} <= _columns(
        engine, "training_run"
    )
    with engine.connect() as connection:
        row = connection.execute(text("SELECT currency, datasets FROM training_run")).one()
    assert row[0] == "USD" and row[1] in ([], "[]")
