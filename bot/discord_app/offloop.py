"""Run the command layer off the event loop.

Commands and support answers do blocking work (SQL through a synchronous engine, matplotlib
charts, price look-ups). On the bot's loop that work stalls gateway heartbeats and the 2-second
defer, so Discord drops the interaction ("Unknown interaction") after 3 s. Each call runs in a
worker thread with an event loop of its own; the model-service client's calls are sent back to
the bot's loop, where its httpx connection pool belongs.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from bot.service_client import ModelServiceClient

T = TypeVar("T")


class OnOwnerLoop:
    """Wraps an object bound to one event loop: its coroutine methods, called from another
    thread's loop, run on the owner loop and are awaited from there."""

    def __init__(self, inner: object, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = inner
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        async def on_owner(*args: Any, **kwargs: Any) -> Any:
            future = asyncio.run_coroutine_threadsafe(attr(*args, **kwargs), self._loop)
            return await asyncio.wrap_future(future)

        return on_owner


async def off_loop(
    work: Callable[[ModelServiceClient], Coroutine[Any, Any, T]], *, service: ModelServiceClient
) -> T:
    """`work(service)` run to completion in a worker thread (its own event loop), with
    `service` usable from there; the caller's loop stays free meanwhile. Raises what `work`
    raises."""
    bridged = cast(ModelServiceClient, OnOwnerLoop(service, asyncio.get_running_loop()))

    def run() -> T:
        return asyncio.run(work(bridged))

    return await asyncio.to_thread(run)
