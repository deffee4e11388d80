"""The write path under hostile rows, outages, hangs and torn spools: nothing is lost, nothing
is written twice, and the writer thread never dies."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.spool import Spool, family_spools
from storage.writer import RecordWriter
from tests.conftest import fast_test_settings
from tests.factories import inference_row
from tests.loopback import free_socket
from tests.storage.test_writer import count_records


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_an_out_of_range_id_is_quarantined_and_the_writer_lives_on(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    writer = RecordWriter(engine, db_settings).start()
    good = [inference_row() for _ in range(40)]
    writer.submit_many("inference_record", [*good[:20], inference_row(guild_id=2**63)])
    writer.submit_many("inference_record", good[20:])
    writer.flush()
    writer.submit_row("inference_record", inference_row())  # the thread still writes
    writer.close()
    assert count_records(engine) == (41, 41)
    assert writer.stats.quarantined == 1
    assert writer.stats.thread_errors == 0
    assert any("refused by the database" in problem for problem in writer.problems())
    kept = [json.loads(line) for line in writer.quarantine_path.read_text().splitlines()]
    assert [item["row"]["guild_id"] for item in kept] == [2**63]


@pytest.mark.postgres
def test_a_nul_byte_is_quarantined_on_postgres(
    pg_cluster: object, postgres_settings: DatabaseSettings
) -> None:
    engine = create_db_engine(postgres_settings)
    upgrade(engine)
    writer = RecordWriter(engine, postgres_settings).start()
    rows = [inference_row() for _ in range(9)] + [inference_row(text="a\x00b")]
    writer.submit_many("inference_record", rows)
    writer.close()
    assert count_records(engine) == (9, 9)
    assert writer.stats.quarantined == 1
    engine.dispose()


def test_an_outage_spools_before_any_retry_and_submits_spool_at_once(tmp_path: Path) -> None:
    with free_socket() as sock:
        port = sock.getsockname()[1]
    settings = fast_test_settings(f"postgresql://nobody@127.0.0.1:{port}/none", tmp_path)
    settings = settings.model_copy(update={"replay_interval_s": 60.0, "retry_base_s": 30.0})
    writer = RecordWriter(create_db_engine(settings), settings).start()
    wait_until(lambda: bool(writer.problems()))  # the start-up probe found the database down
    writer.submit_many("inference_record", [inference_row() for _ in range(5)])
    # on disk before submit returned: a kill -9 now loses nothing
    assert _spooled_uids(writer) and len(_spooled_uids(writer)) == 5
    writer.close(timeout=2)
    assert writer.stats.spooled == 5


def test_a_hung_insert_spools_its_rows_and_the_queue_then_writes_once(
    tmp_path: Path,
) -> None:
    settings = _sqlite_settings(tmp_path, busy_timeout_ms=3000, stall_s=0.3)
    engine = create_db_engine(settings)
    upgrade(engine)
    writer = RecordWriter(engine, settings).start()
    blocker = sqlite3.connect(tmp_path / "db.sqlite")
    blocker.execute("BEGIN EXCLUSIVE")  # every insert now waits (the busy timeout): a hang
    first = [inference_row() for _ in range(10)]
    writer.submit_many("inference_record", first)
    wait_until(lambda: len(_spooled_uids(writer)) >= 10, timeout=5)
    later = [inference_row() for _ in range(10)]
    writer.submit_many("inference_record", later)  # while hung: spooled by the caller
    assert len(_spooled_uids(writer)) == 20
    blocker.rollback()
    blocker.close()
    wait_until(lambda: count_records(engine)[0] == 20 and not writer.spool_pending, timeout=15)
    writer.close()
    assert count_records(engine) == (20, 20)


def test_close_during_a_hang_spools_what_waits_instead_of_giving_up(tmp_path: Path) -> None:
    settings = _sqlite_settings(tmp_path, busy_timeout_ms=20_000, stall_s=30.0)
    engine = create_db_engine(settings)
    upgrade(engine)
    writer = RecordWriter(engine, settings).start()
    wait_until(lambda: writer.stats.thread_errors == 0 and not writer.problems())
    blocker = sqlite3.connect(tmp_path / "db.sqlite")
    blocker.execute("BEGIN EXCLUSIVE")
    rows = [inference_row() for _ in range(30)]
    for start in range(0, 30, 10):
        writer.submit_many("inference_record", rows[start : start + 10])
        time.sleep(0.1)
    started = time.monotonic()
    writer.close(timeout=1.0)
    assert time.monotonic() - started < 5
    assert _spooled_uids(writer) == {row["uid"] for row in rows}
    blocker.rollback()
    blocker.close()
    wait_until(lambda: count_records(engine)[0] >= 0 and not _thread_alive(writer), timeout=30)
    again = RecordWriter(engine, settings).start()  # the next start replays the spool
    again.close()
    assert count_records(engine) == (30, 30)


def test_a_torn_spool_line_is_set_aside_and_the_rest_replayed(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    rows = [("inference_record", inference_row()) for _ in range(3)]
    spool = Spool(db_settings.spool_path)
    spool.append(rows[:2])
    with spool.path.open("a") as handle:
        handle.write('{"table":"inference_record","row":{"uid":"tor\n')  # a crash mid-write
        handle.write("not json at all\n")
    spool.append(rows[2:])
    with spool.path.open("a") as handle:
        handle.write('{"table":"inference_re')  # the last line, cut short
    writer = RecordWriter(engine, db_settings).start()
    writer.close()
    assert count_records(engine) == (3, 3)
    assert writer.stats.torn_lines == 3
    assert spool.torn_path.read_text().count("\n") == 3
    assert any("unreadable spool lines" in problem for problem in writer.problems())
    assert not spool.pending()


def test_each_process_has_its_own_spool_and_a_held_spool_is_not_replayed(
    engine: Engine, db_settings: DatabaseSettings
) -> None:
    service = RecordWriter(engine, db_settings, role="service")
    bot = RecordWriter(engine, db_settings, role="bot")
    twin = RecordWriter(engine, db_settings, role="service")  # same name: a replica elsewhere
    paths = {service.spool_path, bot.spool_path, twin.spool_path}
    assert len(paths) == 3
    # The twin is told apart by host name and pid (containers scaled from one definition).
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:24]
    assert twin.replica_id.startswith(f"0-{host}-{os.getpid()}-") and service.replica_id == "0"
    held = Spool(Path(service.spool_path))
    held.append([("inference_record", inference_row())])
    assert held.replay(lambda batch: None) == 0, "the service process holds its spool"
    assert {str(p) for p in family_spools(db_settings.spool_path)} >= {service.spool_path}
    for writer in (service, bot, twin):
        writer.close()
    writer = RecordWriter(engine, db_settings, role="cli").start()  # adopts the free spool
    writer.close()
    assert count_records(engine) == (1, 1)


def test_the_queue_is_bounded_in_rows(engine: Engine, db_settings: DatabaseSettings) -> None:
    settings = db_settings.model_copy(update={"max_queue": 10, "enqueue_timeout_s": 0.05})
    writer = RecordWriter(engine, settings)  # not started: nothing drains the queue
    writer.submit_many("inference_record", [inference_row() for _ in range(8)])
    writer.submit_many("inference_record", [inference_row() for _ in range(8)])
    assert (writer.queue_depth, writer.stats.spooled) == (8, 8)
    writer.start()
    writer.close()
    again = RecordWriter(engine, settings).start()
    again.close()
    assert count_records(engine) == (16, 16)


def _sqlite_settings(tmp_path: Path, *, busy_timeout_ms: int, stall_s: float) -> DatabaseSettings:
    settings = fast_test_settings(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    return settings.model_copy(
        update={"sqlite_busy_timeout_ms": busy_timeout_ms, "stall_s": stall_s}
    )


def _spooled_uids(writer: RecordWriter) -> set[str]:
    path = Path(writer.spool_path)
    if not path.exists():
        return set()
    return {json.loads(line)["row"]["uid"] for line in path.read_text().splitlines()}


def _thread_alive(writer: RecordWriter) -> bool:
    thread = writer._thread
    return thread is not None and thread.is_alive()
