"""The micro-batcher alone, with a plain function as the batch: limits, waiting, draining."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import pytest

from models.service.batcher import BatchPolicy, MicroBatcher, Pending
from models.service.errors import OverloadedError


class Recorder:
    """A batch function that remembers each batch's payloads."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.batches: list[list[str]] = []
        self.delay_s = delay_s

    def __call__(self, batch: Sequence[Pending[str, str]]) -> list[str]:
        time.sleep(self.delay_s)
        self.batches.append([item.payload for item in batch])
        return [item.payload.upper() for item in batch]


async def test_concurrent_items_are_coalesced_within_the_size_limit() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=4, max_wait_ms=50))
    batcher.start()
    futures = batcher.submit([(f"t{i}", 1) for i in range(10)])
    assert await asyncio.gather(*futures) == [f"T{i}" for i in range(10)]
    await batcher.drain()
    assert [len(b) for b in run.batches] == [4, 4, 2]


async def test_token_limit_closes_a_batch_but_never_starves_a_long_item() -> None:
    run = Recorder()
    batcher = MicroBatcher(
        run, BatchPolicy(max_batch_size=100, max_batch_tokens=10, max_wait_ms=20)
    )
    batcher.start()
    futures = batcher.submit([("a", 4), ("b", 4), ("c", 4), ("huge", 50), ("d", 1)])
    await asyncio.gather(*futures)
    await batcher.drain()
    assert run.batches == [["a", "b"], ["c"], ["huge"], ["d"]]


async def test_a_lone_item_waits_for_company() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=2, max_wait_ms=600_000))
    batcher.start()
    first = batcher.submit([("x", 1)])
    await asyncio.sleep(0)  # the collector sees x alone and waits (the batch is not full)
    second = batcher.submit([("y", 1)])
    assert await asyncio.gather(*first, *second) == ["X", "Y"]
    await batcher.drain()
    assert run.batches == [["x", "y"]]  # one batch, closed by size long before max_wait


async def test_a_lone_item_is_served_alone_when_no_company_comes() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=8, max_wait_ms=1))
    batcher.start()
    assert await asyncio.wait_for(asyncio.gather(*batcher.submit([("x", 1)])), 60) == ["X"]
    await batcher.drain()
    assert run.batches == [["x"]]


async def test_full_queue_refuses_all_or_nothing() -> None:
    run = Recorder(delay_s=0.1)
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=1, max_wait_ms=0, queue_limit=3))
    batcher.start()
    accepted = batcher.submit([("a", 1), ("b", 1), ("c", 1)])
    with pytest.raises(OverloadedError) as refused:
        batcher.submit([("d", 1)])
    assert refused.value.code == "queue_full"
    await asyncio.gather(*accepted)
    await batcher.drain()
    assert sum(len(b) for b in run.batches) == 3


async def test_drain_finishes_queued_work_and_refuses_new() -> None:
    run = Recorder(delay_s=0.02)
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=2, max_wait_ms=1000))
    batcher.start()
    futures = batcher.submit([(f"t{i}", 1) for i in range(5)])
    await batcher.drain()
    assert all(f.done() and not f.cancelled() for f in futures)
    with pytest.raises(OverloadedError) as refused:
        batcher.submit([("late", 1)])
    assert refused.value.code == "shutting_down"


async def test_a_failing_batch_fails_only_its_callers() -> None:
    def explode(batch: Sequence[Pending[str, str]]) -> list[str]:
        if any(item.payload == "bad" for item in batch):
            raise RuntimeError("forward failed")
        return [item.payload for item in batch]

    batcher = MicroBatcher(explode, BatchPolicy(max_batch_size=1, max_wait_ms=0))
    batcher.start()
    bad, good = batcher.submit([("bad", 1), ("good", 1)])
    with pytest.raises(RuntimeError):
        await bad
    assert await good == "good"
    await batcher.drain()


async def test_abandoned_items_are_not_computed() -> None:
    run = Recorder(delay_s=0.05)
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=1, max_wait_ms=0))
    batcher.start()
    first, second = batcher.submit([("first", 1), ("gone", 1)])
    second.cancel()
    await first
    await batcher.drain()
    assert run.batches == [["first"]]


async def _yield_to_the_collector() -> None:
    for _ in range(5):  # loop turns only: no time passes for company to arrive
        await asyncio.sleep(0)


async def test_a_text_at_an_idle_worker_runs_at_once_by_default() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=8))
    batcher.start()
    first = batcher.submit([("x", 1)])
    await _yield_to_the_collector()
    second = batcher.submit([("y", 1)])
    await asyncio.gather(*first, *second)
    await batcher.drain()
    assert run.batches == [["x"], ["y"]]  # x did not wait for y


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(5000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise TimeoutError("condition not met")


async def test_batches_grow_with_load() -> None:
    run = Recorder(delay_s=0.2)
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=8))
    batcher.start()
    futures = batcher.submit([("a", 1)])
    await _until(lambda: batcher.in_flight == 1)
    for name in "bcdefghijk":  # arrive one by one while a is computed
        futures += batcher.submit([(name, 1)])
        await _yield_to_the_collector()
    await asyncio.gather(*futures)
    await batcher.drain()
    assert [len(b) for b in run.batches] == [1, 8, 2]


async def test_after_a_batch_of_k_the_next_waits_briefly_for_k_texts() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=8, linger_ms=60_000))
    batcher.start()
    await asyncio.gather(*batcher.submit([("a", 1), ("b", 1), ("c", 1)]))
    later = batcher.submit([("d", 1)])  # its companions, just answered, come back
    await _yield_to_the_collector()
    assert run.batches == [["a", "b", "c"]], "d waits for company"
    later += batcher.submit([("e", 1), ("f", 1)])
    await asyncio.gather(*later)
    assert run.batches == [["a", "b", "c"], ["d", "e", "f"]]
    await batcher.drain()


async def test_callers_split_in_two_groups_are_joined_again() -> None:
    """Two groups of callers alternating (4 computed while 4 wait) would stay split if the
    next batch waited only for as many texts as the last had: the 4 waiting are enough."""
    run = Recorder(delay_s=0.2)
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=8, linger_ms=60_000))
    batcher.start()
    first = batcher.submit([(f"a{i}", 1) for i in range(4)])
    await _yield_to_the_collector()
    waiting = batcher.submit([(f"b{i}", 1) for i in range(4)])  # queue while a0-a3 compute
    await asyncio.gather(*first)
    await _yield_to_the_collector()
    assert len(run.batches) == 1, "b0-b3 wait for the callers just answered"
    back = batcher.submit([(f"c{i}", 1) for i in range(4)])
    await asyncio.gather(*waiting, *back)
    await batcher.drain()
    assert [len(b) for b in run.batches] == [4, 8]


async def test_lingering_is_bounded_and_never_follows_a_batch_of_one() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, BatchPolicy(max_batch_size=8, linger_ms=50))
    batcher.start()
    await asyncio.gather(*batcher.submit([("a", 1), ("b", 1)]))
    started = time.perf_counter()
    assert await asyncio.gather(*batcher.submit([("c", 1)])) == ["C"]  # no company comes
    assert time.perf_counter() - started < 5
    first = batcher.submit([("d", 1)])  # after the batch of one [c]: runs at once
    await _yield_to_the_collector()
    second = batcher.submit([("e", 1)])
    await asyncio.gather(*first, *second)
    await batcher.drain()
    assert run.batches == [["a", "b"], ["c"], ["d"], ["e"]]
