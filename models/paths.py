"""Where shipped adapters live."""

from __future__ import annotations

from pathlib import Path

ADAPTERS_DIR = Path(__file__).resolve().parent / "adapters"
DEFAULT_TASKS = ("intent", "sentiment")


def default_adapter_dir(task: str) -> Path:
    """Return the shipped adapter directory of a task: models/adapters/<task>/."""
    return ADAPTERS_DIR / task
