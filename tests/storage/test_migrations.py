from __future__ import annotations

from sqlalchemy import Engine, inspect

from storage.migrate import current_revision, downgrade, upgrade

HEAD = "0006"
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
    def outcome_columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("support_outcome")}

    assert "conversation_uid" in outcome_columns()
    downgrade(engine, "0003")
    assert {"support_conversation", "support_event"}.isdisjoint(inspect(engine).get_table_names())
    assert "conversation_uid" not in outcome_columns()
    upgrade(engine)
    assert current_revision(engine) == HEAD and "conversation_uid" in outcome_columns()


def test_0005_adds_the_replica_and_time_shares_and_goes_back(engine: Engine) -> None:
    def record_columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("inference_record")}

    added = {"replica_id", "wall_us", "cpu_us", "gpu_us"}
    assert added <= record_columns()
    downgrade(engine, "0004")
    assert added.isdisjoint(record_columns())
    upgrade(engine)
    assert current_revision(engine) == HEAD and added <= record_columns()


def test_0006_adds_message_facts_to_support_events_and_goes_back(engine: Engine) -> None:
    def event_columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("support_event")}

    added = {"message_id", "intent", "confidence", "text"}
    assert added <= event_columns()
    downgrade(engine, "0005")
    assert added.isdisjoint(event_columns())
    upgrade(engine)
    assert current_revision(engine) == HEAD and added <= event_columns()
