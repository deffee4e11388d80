"""Scheduled work on the leader only: a scheduler whose every job first asks `Leadership`
(storage/leader.py), and the check that lets a follower take over.

Every process schedules the same jobs; a job on a process that does not lead returns at once.
Wrapping `add_job` guards each job, including ones added later by other features, without each
job knowing about leadership.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from storage.leader import Leadership
from storage.types import utc_now

LEADER_CHECK_JOB = "leader-check"
LEADER_CHECK_S = 15  # default of aggregation.leader_check_s: how soon a follower takes over


class LeaderScheduler(AsyncIOScheduler):
    """An AsyncIOScheduler whose jobs run only while this process leads (always without a
    leadership, as with one process on SQLite)."""

    def __init__(
        self,
        *,
        leadership: Leadership | None = None,
        check_s: float = LEADER_CHECK_S,
        **options: Any,
    ) -> None:
        """`check_s`: seconds between leader checks (`aggregation.leader_check_s`)."""
        super().__init__(**options)
        self.leadership = leadership
        if leadership is not None:
            super().add_job(
                leadership.refresh,
                IntervalTrigger(seconds=check_s),
                id=LEADER_CHECK_JOB,
                coalesce=True,
                max_instances=1,
                next_run_time=utc_now(),
            )

    def add_job(self, func: Any, *args: Any, **kwargs: Any) -> Job:
        """As AsyncIOScheduler.add_job, the job skipped on a process that does not lead."""
        if self.leadership is not None:
            func = only_leading(func, self.leadership)
        return super().add_job(func, *args, **kwargs)


def only_leading(func: Callable[..., Any], leadership: Leadership) -> Callable[..., Any]:
    """`func` run only while `leadership` holds (re-checked first; off the loop if async)."""
    if asyncio.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            if await asyncio.to_thread(leadership.refresh):
                return await func(*args, **kwargs)
            return None

        return run_async

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        if leadership.refresh():
            return func(*args, **kwargs)
        return None

    return run
