"""A bot/scheduler process for the multiprocess proof: the scheduler `costbot up` runs
(costbot.scheduler.build_scheduler under a Leadership: the aggregation job, the budget alerts and
a daily summary, on the leader only), with its settings read from the environment as `costbot up`
reads them, and a poster that writes each post to a file, one JSON line (the proof's stand-in
for Discord). It logs "scheduled work: leading" when it takes the lead, and runs until SIGTERM.

Usage: ``python -m tests.multiprocess.job_child POSTS_FILE HH:MM`` (HH:MM: the daily summary's
time, UTC; a time within the hour before the start is posted at once, as after a restart).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from bot.replies import Reply
from bot.settings import SummarySchedule
from bot.summaries import Poster
from costbot.scheduler import build_scheduler
from costbot.settings import load_settings
from storage.db import create_db_engine, session_factory
from storage.leader import Leadership
from storage.types import utc_now

CHANNEL = 4242


def _poster(posts: Path) -> Poster:
    async def post(channel_id: int, reply: Reply) -> int:
        at = utc_now().isoformat()
        line = {"pid": os.getpid(), "at": at, "channel": channel_id, "title": reply.title}
        with posts.open("a") as handle:
            handle.write(json.dumps(line) + "\n")
        return 1

    return post


async def main(posts: Path, summary_at: str) -> None:
    """Run the scheduler until SIGTERM, then release the lead."""
    settings = load_settings()
    engine = create_db_engine(settings.database)
    leadership = Leadership(engine)
    hour, minute = (int(part) for part in summary_at.split(":"))
    scheduler = build_scheduler(
        session_factory=session_factory(engine),
        costing=settings.costing,
        summaries=[SummarySchedule(channel_id=CHANNEL, hour=hour, minute=minute)],
        poster=_poster(posts),
        retry_delay_s=1.0,
        leadership=leadership,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    scheduler.start()
    await stop.wait()
    scheduler.shutdown(wait=False)
    leadership.release()
    engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
