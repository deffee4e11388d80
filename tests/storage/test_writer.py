from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from storage.errors import WriterClosedError
from storage.settings import DatabaseSettings
from storage.spool import Spool
from storage.tables import InferenceRecord, SupportOutcome, new_uid
from storage.writer import RecordWriter
from tests.factories import inference_row
from tests.pg_cluster import PostgresCluster


def count_records(engine: Engine) -> tuple[int, int]:
    """(rows, distinct uids) in inference_record."""
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(InferenceRecord)).one()[0]
        uids = session.exec(select(func.count(func.distinct(InferenceRecord.uid)))).one()[0]
    return int(rows), int(uids)


def test_bulk_rows_all_arrive_and_close_flushes(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    # The bulk path only: on a loaded 2-core CI machine one 5,000-row insert into PostgreSQL
    # once took longer than the default 1 s stall, and the writer rightly spooled (the stall
    # path has its own tests in test_write_faults.py).
    patient = db_settings.model_copy(update={"stall_s": 60.0})
    writer = RecordWriter(engine, patient).start()
    for _ in range(5000):
        writer.submit_row("inference_record", inference_row())
    writer.close()
    assert count_records(engine) == (5000, 5000)
    assert writer.stats.written == 5000
    assert writer.stats.spooled == 0
    assert 0 < writer.stats.cpu_s < 60, "the writer thread's own CPU is counted"


def test_models_round_trip_with_utc_times_and_json(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    served = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    writer = RecordWriter(engine, db_settings).start()
    writer.submit(InferenceRecord(**inference_row(created_at=served, energy_uj=2**40)))
    writer.submit(SupportOutcome(outcome="resolved", intent="card_arrival", channel_id=2**60))
    writer.flush()
    with Session(engine) as session:
        record = session.exec(select(InferenceRecord)).one()[0]
        outcome = session.exec(select(SupportOutcome)).one()[0]
    writer.close()
    assert record.created_at == served
    assert record.created_at.tzinfo is not None
    assert record.energy_uj == 2**40
    assert record.predictions["intent"]["label"] == "card_arrival"
    assert outcome.channel_id == 2**60


def test_duplicate_uid_is_written_once(engine: Engine, db_settings: DatabaseSettings) -> None:
    row = inference_row()
    writer = RecordWriter(engine, db_settings).start()
    writer.submit_row("inference_record", row)
    writer.flush()
    writer.submit_row("inference_record", dict(row))
    writer.close()
    assert count_records(engine) == (1, 1)


def test_submit_after_close_is_refused(engine: Engine, db_settings: DatabaseSettings) -> None:
    writer = RecordWriter(engine, db_settings).start()
    writer.close()
    with pytest.raises(WriterClosedError):
        writer.submit_row("inference_record", inference_row())


def test_unknown_table_is_refused(engine: Engine, db_settings: DatabaseSettings) -> None:
    writer = RecordWriter(engine, db_settings).start()
    with pytest.raises(ValueError, match="not written through"):
        writer.submit_row("budget", {})
    writer.close()


def test_naive_datetime_is_refused_not_misfiled(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    with Session(engine) as session:
        session.add(InferenceRecord(**inference_row(created_at=datetime(2026, 1, 1))))
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()


def test_spool_replays_exactly_once_even_when_cut_short(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    rows = [("inference_record", inference_row()) for _ in range(300)]
    spool = Spool(db_settings.spool_path)
    spool.append(rows)
    spool.append(rows[:100])  # a batch spooled twice must still land once
    writer = RecordWriter(engine, db_settings)

    calls = 0

    def failing_after_first_chunk(batch: list) -> None:  # type: ignore[type-arg]
        nonlocal calls
        calls += 1
        if calls > 1:
            raise ConnectionError("database went away mid-replay")
        writer._insert(batch)

    with pytest.raises(ConnectionError):
        spool.replay(failing_after_first_chunk, chunk_size=50)
    assert spool.pending()
    writer.start()  # a start replays what is left
    writer.close()
    assert not spool.pending()
    assert count_records(engine) == (300, 300)


def test_sqlite_lock_spools_then_replays(tmp_path: pytest.TempPathFactory) -> None:
    from storage.db import create_db_engine
    from storage.migrate import upgrade

    path = tmp_path / "locked.db"  # type: ignore[operator]
    settings = DatabaseSettings(
        url=f"sqlite:///{path}",
        spool_path=tmp_path / "spool.jsonl",  # type: ignore[operator]
        flush_interval_s=0.05,
        retry_attempts=1,
        retry_base_s=0.05,
        replay_interval_s=0.1,
        sqlite_busy_timeout_ms=50,
    )
    engine = create_db_engine(settings)
    upgrade(engine)
    blocker = sqlite3.connect(path)
    blocker.execute("BEGIN EXCLUSIVE")
    writer = RecordWriter(engine, settings).start()
    for _ in range(200):
        writer.submit_row("inference_record", inference_row())
    writer.flush()
    assert writer.stats.spooled == 200
    blocker.rollback()
    blocker.close()
    _wait_until(lambda: not writer.spool_pending, timeout=10)
    writer.close()
    assert count_records(engine) == (200, 200)
    assert writer.stats.replayed == 200


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_outage_mid_burst_loses_nothing(
    pg_cluster: PostgresCluster, postgres_settings: DatabaseSettings
) -> None:
    from storage.db import create_db_engine
    from storage.migrate import upgrade

    engine = create_db_engine(postgres_settings)
    upgrade(engine)
    writer = RecordWriter(engine, postgres_settings).start()
    total = 20_000
    produced = threading.Event()

    def burst() -> None:
        for index in range(total):
            writer.submit_row("inference_record", inference_row())
            if index % 500 == 0:
                time.sleep(0.01)
        produced.set()

    producer = threading.Thread(target=burst)
    producer.start()
    time.sleep(0.15)
    pg_cluster.stop("immediate")
    time.sleep(1.0)
    pg_cluster.start()
    pg_cluster.wait_ready()
    producer.join()
    assert produced.is_set()
    writer.flush()
    _wait_until(lambda: not writer.spool_pending, timeout=30)
    writer.close()
    assert writer.stats.spooled > 0, "the outage should have forced records into the spool"
    assert count_records(engine) == (total, total)


def test_connection_check_reports_down_database(pg_cluster: PostgresCluster) -> None:
    from storage.db import check_connection, create_db_engine
    from storage.errors import StorageUnavailableError

    dead = create_db_engine(DatabaseSettings(url="postgresql://postgres@127.0.0.1:1/none"))
    with pytest.raises(StorageUnavailableError, match="unreachable"):
        check_connection(dead)
    alive = create_db_engine(DatabaseSettings(url=pg_cluster.admin_url))
    check_connection(alive)
    with alive.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1


def _wait_until(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_refused_row_is_kept_aside_and_the_rest_written(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    writer = RecordWriter(engine, db_settings).start()
    for _ in range(10):
        writer.submit_row("inference_record", inference_row())
    writer.submit_row("inference_record", inference_row(request_id=None))  # NOT NULL column
    writer.close()
    assert count_records(engine) == (10, 10)
    assert writer.stats.quarantined == 1
    assert writer.quarantine_path.read_text().count("\n") == 1


def test_full_queue_holds_the_producer_back_then_spools_if_stuck(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    settings = db_settings.model_copy(update={"max_queue": 10, "enqueue_timeout_s": 0.05})
    writer = RecordWriter(engine, settings)  # not started: nothing drains the queue
    for _ in range(12):
        writer.submit_row("inference_record", inference_row())
    assert writer.queue_depth == 10
    assert writer.stats.spooled == 2
    writer.start()
    writer.close()
    _wait_until(lambda: not writer.spool_pending, timeout=10)
    assert count_records(engine) == (12, 12)


def test_new_uids_are_32_hex_digits_and_distinct() -> None:
    uids = {new_uid() for _ in range(10_000)}
    assert len(uids) == 10_000
    assert all(len(uid) == 32 and int(uid, 16) >= 0 for uid in uids)
    assert len({uid[:8] for uid in uids}) > 9_900  # random from the first digit, not a counter
