"""Where the shipped support model lives."""

from __future__ import annotations

from pathlib import Path

ADAPTERS_DIR = Path(__file__).resolve().parent / "adapters"
SUPPORT_MODEL = "support"


def default_model_dir() -> Path:
    """The shipped multi-task support model: models/adapters/support/."""
    return ADAPTERS_DIR / SUPPORT_MODEL
