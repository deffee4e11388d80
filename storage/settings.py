"""The ground floor's settings: the database and its write path (nothing else).

Every package owns its own section; the costbot command line composes them (``costbot.settings``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    """A settings section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(Section):
    """Where records go and how the write path batches them."""

    url: str = "sqlite:///./costbot.db"
    spool_path: Path = Path("./costbot-spool.jsonl")
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    flush_interval_s: float = Field(default=0.25, gt=0, le=60)
    # Queue items, each one submission (a row, or a service batch of rows).
    max_queue: int = Field(default=200_000, ge=1)
    enqueue_timeout_s: float = Field(default=5.0, ge=0, le=600)
    retry_attempts: int = Field(default=4, ge=0, le=20)
    retry_base_s: float = Field(default=0.2, gt=0, le=30)
    replay_interval_s: float = Field(default=5.0, gt=0, le=3600)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return value
