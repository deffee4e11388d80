"""A bot/scheduler process for the multiprocess proof: it runs the scheduled work while it holds
the leader lock (storage.leader.Leadership, a PostgreSQL advisory lock): the aggregation job,
the budget check, the alert posts and the daily summary, through the same functions the
scheduler runs, until a stop file appears; then, if it leads, it folds what settled. Posts go
to a file, one JSON line each (the proof's stand-in for Discord).

Usage: ``python -m tests.multiprocess.job_child DATABASE_URL STOP_FILE SETTLE_S POSTS_FILE``
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from bot.replies import Reply
from bot.settings import SummarySchedule
from bot.summaries import Poster, post_alerts, post_summary
from costing.aggregation import aggregate
from costing.budgets import check_budgets
from costing.settings import CostingSettings
from storage.db import SessionFactory, create_db_engine, session_factory
from storage.leader import Leadership
from storage.settings import DatabaseSettings
from storage.types import utc_now

CHANNEL = 4242
SUMMARY = SummarySchedule(channel_id=CHANNEL, kind="daily")


def _poster(posts: Path) -> Poster:
    async def post(channel_id: int, reply: Reply) -> int:
        line = {"pid": os.getpid(), "channel": channel_id, "title": reply.title}
        with posts.open("a") as handle:
            handle.write(json.dumps(line) + "\n")
        return 1

    return post


async def _tick(sessions: SessionFactory, *, settle_s: float, posts: Path) -> None:
    """One round of the scheduled work, as the leader runs it."""
    now = utc_now()
    aggregate(sessions, now=now, settle_s=settle_s)
    check_budgets(sessions, now=now, timezone="UTC")
    poster = _poster(posts)
    await post_alerts(poster=poster, session_factory=sessions, channel_ids=[CHANNEL], now=now)
    await post_summary(
        SUMMARY, poster=poster, session_factory=sessions, costing=CostingSettings(), now=now
    )


def main(url: str, stop: Path, settle_s: float, posts: Path) -> None:
    """Lead or wait, every 0.2 s, until `stop` exists; the leader then folds what settled."""
    engine = create_db_engine(DatabaseSettings(url=url))
    sessions, leadership = session_factory(engine), Leadership(engine)
    ticks = 0
    while not stop.exists():
        if leadership.refresh():
            asyncio.run(_tick(sessions, settle_s=settle_s, posts=posts))
            ticks += 1
        time.sleep(0.2)
    if leadership.refresh():
        for _ in range(2):  # the last horizon, then the fold once it has settled
            time.sleep(settle_s)
            aggregate(sessions, now=utc_now(), settle_s=settle_s)
    leadership.release()
    engine.dispose()
    print(f"pid {os.getpid()} led {ticks} ticks")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]))
