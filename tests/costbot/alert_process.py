"""A bot process posting budget alerts (for test_leader): `setup` raises two alerts; `post`
waits until the other processes are ready too, then posts every pending alert to three
channels, appending each post to a file (one JSON line per post)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from bot.replies import Reply
from bot.summaries import post_alerts
from costing.budgets import check_budgets, make_scope, set_budget
from costing.units import Money
from storage.db import create_db_engine, session_factory
from storage.settings import DatabaseSettings
from storage.types import utc_now
from tests.costing.conftest import insert_rows
from tests.factories import inference_row

CHANNELS = [11, 12, 13]


def setup(url: str) -> None:
    """One record over an 'all' budget: its 80 % and 100 % alerts are pending."""
    engine = create_db_engine(DatabaseSettings(url=url))
    sessions, now = session_factory(engine), utc_now()
    insert_rows(engine, [inference_row(created_at=now - timedelta(minutes=1))])
    set_budget(sessions, scope=make_scope("all"), limit=Money(1), now=now)
    assert len(check_budgets(sessions, now=now)) == 2
    engine.dispose()


def wait_for_others(out: Path, processes: int) -> None:
    """Start together: each process marks itself ready, then waits for the rest."""
    (out.parent / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while len(list(out.parent.glob("ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.01)


async def post(url: str, out: Path) -> None:
    """Post the pending alerts, each post slow enough for the processes to overlap."""
    engine = create_db_engine(DatabaseSettings(url=url))

    async def poster(channel_id: int, reply: Reply) -> int:
        await asyncio.sleep(0.05)
        with out.open("a") as handle:
            line = {"pid": os.getpid(), "channel": channel_id, "title": reply.title}
            handle.write(json.dumps(line) + "\n")
        return 1

    await post_alerts(
        poster=poster, session_factory=session_factory(engine), channel_ids=CHANNELS, now=utc_now()
    )
    engine.dispose()


if __name__ == "__main__":
    url, out, action, processes = sys.argv[1:5]
    if action == "setup":
        setup(url)
    else:
        wait_for_others(Path(out), int(processes))
        asyncio.run(post(url, Path(out)))
