"""`costbot console` as a real subprocess with piped stdin, on the test's database and service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.settings import BotConfig

ROOT = Path(__file__).resolve().parents[2]


def run_console(
    settings: BotConfig, tmp_path: Path, script: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Feed `script` to `costbot console ARGS` in `tmp_path` (its spool there too); the finished
    process with its text output, whatever its exit status."""
    env = {
        **os.environ,
        "COSTBOT_DATABASE__URL": settings.database.url,
        "COSTBOT_DATABASE__SPOOL_PATH": str(tmp_path / "spool.jsonl"),
        "COSTBOT_SERVICE__URL": settings.service.url,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "costbot", "console", *args],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
