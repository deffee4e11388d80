"""The one small interface every energy backend implements, and how a backend reports itself."""

from __future__ import annotations

from typing import NamedTuple, Protocol, TypeVar

from costing.measurement import EnergyReading

StartT = TypeVar("StartT")


class MeterStatus(NamedTuple):
    """Whether a meter works on this machine, and why (not)."""

    name: str
    available: bool
    reason: str


class EnergyBackend(Protocol[StartT]):
    """Energy of one component over a window: a snapshot at the start, a reading at the end.

    Snapshots are immutable values, so any number of windows may be open at once, from any thread.
    """

    component: str
    # The most the device can draw (W); a reading above it over a window is not believed.
    # None for estimates, which are computed from configured watts.
    max_watts: float | None

    def begin(self) -> StartT:
        """Snapshot the counters at the start of a window."""
        ...

    def end(self, start: StartT, *, wall_s: float, cpu_s: float) -> EnergyReading:
        """The component's energy since `start`; `wall_s`, `cpu_s` are the window's times."""
        ...

    def close(self) -> None:
        """Release what the backend holds (threads, library handles)."""
        ...
