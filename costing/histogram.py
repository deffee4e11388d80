"""A mergeable latency histogram: log-spaced buckets (≈9% wide), stored as JSON counts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

GROWTH = 2 ** (1 / 8)
FLOOR_MS = 0.01
_LOG_GROWTH = math.log(GROWTH)


def bucket_of(latency_ms: float) -> int:
    """The bucket index of a latency: bucket i holds (GROWTH**(i-1), GROWTH**i] × FLOOR_MS."""
    if latency_ms <= FLOOR_MS:
        return 0
    return math.ceil(math.log(latency_ms / FLOOR_MS) / _LOG_GROWTH - 1e-9)


def upper_bound(bucket: int) -> float:
    """The largest latency a bucket holds (a percentile is reported as this bound)."""
    return FLOOR_MS * GROWTH**bucket


def add(histogram: dict[str, int], latencies: Iterable[float]) -> dict[str, int]:
    """Count latencies into a histogram (in place; returned for chaining)."""
    for latency in latencies:
        key = str(bucket_of(latency))
        histogram[key] = histogram.get(key, 0) + 1
    return histogram


def merge(into: dict[str, int], other: Mapping[str, int]) -> dict[str, int]:
    """Add another histogram's counts (in place; returned for chaining)."""
    for key, count in other.items():
        into[key] = into.get(key, 0) + int(count)
    return into


def percentile(histogram: Mapping[str, int], pct: float) -> float | None:
    """The latency under which ``pct`` percent of counts fall (a bucket bound); None if empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = math.ceil(total * pct / 100)
    seen = 0
    for bucket in sorted(histogram, key=int):
        seen += histogram[bucket]
        if seen >= max(rank, 1):
            return upper_bound(int(bucket))
    return upper_bound(max(int(b) for b in histogram))
