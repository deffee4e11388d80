"""Start and stop benchmark servers as subprocesses; read test texts; summarise repeats."""

from __future__ import annotations

import csv
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.pg_cluster import PostgresCluster, find_pg_bin

REPO = Path(__file__).resolve().parents[2]
BANKING77 = REPO.parent / "shared" / "data" / "banking77" / "train.csv"


def empty_config(folder: Path) -> Path:
    """An empty costbot.toml in `folder`, so a benchmark server reads no developer settings."""
    path = folder / "empty-costbot.toml"
    path.touch()
    return path


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def banking_texts(limit: int = 2000) -> list[str]:
    """Real customer messages (BANKING77), in file order."""
    with BANKING77.open(newline="") as handle:
        return [row["text"] for _, row in zip(range(limit), csv.DictReader(handle), strict=False)]


@contextmanager
def server(
    env: dict[str, str], *, args: tuple[str, ...] = (), log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A benchmark server with COSTBOT_* `env`; yields (url, process); SIGTERM on exit."""
    port = free_port()
    out = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.service.serve", "--port", str(port), *args],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield url, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def throwaway_postgres() -> Iterator[tuple[PostgresCluster, Path]]:
    """A started PostgreSQL cluster of its own and a scratch folder for the run; the cluster is
    stopped at the end. Raises SystemExit when PostgreSQL's server binaries are not installed."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL server binaries not installed")
    root = Path(tempfile.mkdtemp(prefix="costbot-bench-"))
    # not under `root`: the server runs as the postgres user, which cannot enter it
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="costbot-bench-pg-")), bin_dir)
    cluster.init()
    cluster.start()
    try:
        yield cluster, root
    finally:
        cluster.stop("immediate")


def wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    *,
    path: str = "/readyz",
    timeout: float = 180,
) -> None:
    """Block until `path` answers 200 (RuntimeError if the server exits first, TimeoutError
    after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server at {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}{path}", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"server at {url} not ready after {timeout:g}s")


def metric_value(metrics: str, name: str) -> float:
    """The value of the unlabelled sample `name` in a Prometheus text exposition (0 if absent)."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def median_of(runs: list[dict[str, float | int]], key: str) -> float:
    """The median of one figure over repeats."""
    return float(statistics.median(float(r[key]) for r in runs))


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, with the core count."""
    names = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    return f"{names[0]} × {len(names)} cores" if names else "unknown CPU"
