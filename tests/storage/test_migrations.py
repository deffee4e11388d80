from __future__ import annotations

from sqlalchemy import Engine, inspect

from storage.migrate import current_revision, downgrade, upgrade

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

    assert current_revision(engine) == "0003"
    assert ("request_id",) not in indexed()
    downgrade(engine, "0002")
    assert ("request_id",) in indexed()
    upgrade(engine)
    assert ("request_id",) not in indexed()
