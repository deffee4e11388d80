"""CPU package energy from RAPL counters under /sys/class/powercap, with wrap-around handled."""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from costing.measurement import EnergyMethod, EnergyReading
from costing.meters.base import MeterStatus
from costing.units import Energy

log = logging.getLogger(__name__)
POWERCAP_ROOT = Path("/sys/class/powercap")
_PACKAGE_ZONE = re.compile(r"intel-rapl:\d+")  # intel-rapl:0:1 etc. are sub-zones of a package
_WRAP_POLL_WATTS = 1000  # poll fast enough that not even a 1 kW package wraps twice unseen
_MAX_POLL_S = 60.0
_MIN_POLL_S = 0.5
PACKAGE_MAX_WATTS = 1000.0  # no CPU package draws a kilowatt: a reading above it is a fault


class RaplUnavailableError(OSError):
    """No readable RAPL package counter."""


@dataclass(frozen=True)
class RaplDomain:
    """One RAPL package zone: its energy counter and the value at which it wraps."""

    path: Path
    name: str
    max_range_uj: int

    def read_uj(self) -> int:
        """The counter now, in µJ."""
        return int((self.path / "energy_uj").read_text())


def counter_delta(previous: int, current: int, *, max_range_uj: int) -> int:
    """µJ between two readings of a counter that wraps to 0 after `max_range_uj`."""
    delta = current - previous
    return delta + max_range_uj if delta < 0 else delta


class RaplMeter:
    """Package energy summed over all sockets, unwrapped into one monotonic µJ total.

    Every read (any window's start or end, or the poller) folds the counters' progress into
    the total under a lock, so wraps are counted as long as something reads at least once per
    wrap period; a daemon thread polls while windows are in use so long windows stay correct.
    """

    component = "cpu"

    def __init__(self, domains: list[RaplDomain], *, poll_s: float | None = None) -> None:
        self.domains = domains
        self.max_watts: float | None = PACKAGE_MAX_WATTS * len(domains)
        self.poll_s = poll_s if poll_s is not None else _poll_interval(domains)
        self._lock = threading.Lock()
        self._fds = [os.open(domain.path / "energy_uj", os.O_RDONLY) for domain in domains]
        self._last = [_read_uj(fd) for fd in self._fds]
        self._total_uj = 0
        self._stopping = threading.Event()
        self._poller: threading.Thread | None = None

    def sample(self) -> int:
        """Total package µJ since this meter was created."""
        with self._lock:
            for index, (domain, fd) in enumerate(zip(self.domains, self._fds, strict=True)):
                current = _read_uj(fd)
                last = self._last[index]
                self._total_uj += counter_delta(last, current, max_range_uj=domain.max_range_uj)
                self._last[index] = current
            return self._total_uj

    def begin(self) -> int:
        """Snapshot the unwrapped total (and make sure the wrap poller runs)."""
        if self._poller is None:
            self._start_poller()
        return self.sample()

    def end(self, start: int, *, wall_s: float, cpu_s: float) -> EnergyReading:
        """Package energy since `start` (all processes on the sockets, not only this one)."""
        energy = Energy.from_microjoules(self.sample() - start)
        return EnergyReading("cpu", energy, EnergyMethod.RAPL)

    def close(self) -> None:
        """Stop the wrap poller and close the counter files."""
        self._stopping.set()
        with self._lock:
            for fd in self._fds:
                os.close(fd)
            self._fds = []

    def _start_poller(self) -> None:
        with self._lock:
            if self._poller is not None:
                return
            self._poller = threading.Thread(target=self._poll, name="rapl-poller", daemon=True)
            self._poller.start()

    def _poll(self) -> None:
        while not self._stopping.wait(self.poll_s):
            try:
                self.sample()
            except (OSError, ValueError):  # closed, or the counter went away
                return


def _read_uj(fd: int) -> int:
    # pread at offset 0 makes sysfs produce a fresh value; cheaper than open+read+close.
    return int(os.pread(fd, 32, 0))


def _poll_interval(domains: list[RaplDomain]) -> float:
    shortest_wrap_s = min(d.max_range_uj for d in domains) / 1e6 / _WRAP_POLL_WATTS
    return min(max(shortest_wrap_s / 2, _MIN_POLL_S), _MAX_POLL_S)


def find_domains(root: Path = POWERCAP_ROOT) -> list[RaplDomain]:
    """The package zones under `root`; raise RaplUnavailableError saying why there are none."""
    zones = sorted(p for p in root.glob("intel-rapl:*") if _PACKAGE_ZONE.fullmatch(p.name))
    if not zones:
        raise RaplUnavailableError(
            f"no {root}/intel-rapl:N zones (not Linux, a VM, or the intel_rapl driver not loaded)"
        )
    domains = [_domain(zone) for zone in zones]
    packages = [d for d in domains if d.name.startswith("package")]
    if not packages:
        raise RaplUnavailableError(f"no package zone among {[d.name for d in domains]}")
    usable = [d for d in packages if _usable_range(d)]
    if len(usable) < len(packages):
        refused = ", ".join(
            f"{d.path.name} (max_energy_range_uj {d.max_range_uj})"
            for d in packages
            if d not in usable
        )
        log.warning("RAPL zones refused, their counter range is unusable: %s", refused)
    if not usable:
        raise RaplUnavailableError(f"no package zone with a usable max_energy_range_uj: {refused}")
    return usable


def _usable_range(domain: RaplDomain) -> bool:
    """A wrap needs a positive range above the counter's value; else a wrap reads as negative."""
    try:
        return 0 <= domain.read_uj() < domain.max_range_uj
    except (OSError, ValueError):
        return False


def _domain(zone: Path) -> RaplDomain:
    try:
        name = (zone / "name").read_text().strip()
        max_range = int((zone / "max_energy_range_uj").read_text())
        domain = RaplDomain(zone, name, max_range)
        domain.read_uj()
    except PermissionError:
        raise RaplUnavailableError(
            f"{zone}/energy_uj is readable only by root (Linux ≥ 5.10, CVE-2020-8694); "
            "grant read access (e.g. a udev rule or chmod) to meter CPU energy"
        ) from None
    except (OSError, ValueError) as error:
        raise RaplUnavailableError(f"{zone}: {error}") from None
    return domain


def probe_rapl(root: Path = POWERCAP_ROOT) -> tuple[RaplMeter | None, MeterStatus]:
    """A RAPL meter if this machine has readable package counters, and the status line."""
    try:
        domains = find_domains(root)
    except RaplUnavailableError as error:
        return None, MeterStatus("rapl", False, str(error))
    names = ", ".join(d.name for d in domains)
    return RaplMeter(domains), MeterStatus("rapl", True, f"package energy of {names}")
