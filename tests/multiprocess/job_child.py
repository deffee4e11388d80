"""A costing-job process for the multiprocess proof: runs the aggregation job in a loop on one
database until a stop file appears, then folds what settled and exits.

Usage: ``python -m tests.multiprocess.job_child DATABASE_URL STOP_FILE SETTLE_S``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from costing.aggregation import aggregate
from storage.db import create_db_engine, session_factory
from storage.settings import DatabaseSettings
from storage.types import utc_now


def main(url: str, stop: Path, settle_s: float) -> None:
    """Aggregate every 0.2 s until `stop` exists; then fold what settled and exit."""
    engine = create_db_engine(DatabaseSettings(url=url))
    sessions = session_factory(engine)
    runs = 0
    while not stop.exists():
        aggregate(sessions, now=utc_now(), settle_s=settle_s)
        runs += 1
        time.sleep(0.2)
    for _ in range(2):  # the last horizon, then the fold once it has settled
        time.sleep(settle_s)
        aggregate(sessions, now=utc_now(), settle_s=settle_s)
    engine.dispose()
    print(f"job runs: {runs}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]))
