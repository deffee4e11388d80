"""The ground floor's settings: the database and its write path (nothing else).

Every package owns its own section; the costbot command line composes them (``costbot.settings``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, field_validator

from storage.urls import mask_url

DATABASE_FILE = "costbot.db"
SPOOL_FILE = "costbot-spool.jsonl"
# How the reference shows the per-install data folder (the real one depends on the platform).
DATA_DIR_SHOWN = "the platform's user data folder, e.g. ~/.local/share/costbot"


def default_data_dir() -> Path:
    """The per-install data folder: the platform's user data dir (``$XDG_DATA_HOME/costbot``,
    ``~/Library/Application Support/costbot``, ``%LOCALAPPDATA%\\costbot``); never the cwd."""
    return platformdirs.user_data_path("costbot", appauthor=False)


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"


class Section(BaseModel):
    """A settings section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(Section):
    """Where records go and how the write path batches them."""

    # Defaults: costbot.db and costbot-spool.jsonl in the data folder (`data_dir`).
    url: str = Field(
        default_factory=lambda: sqlite_url(default_data_dir() / DATABASE_FILE),
        json_schema_extra={"shown_default": f"sqlite:///<data_dir>/{DATABASE_FILE}"},
    )
    spool_path: Path = Field(
        default_factory=lambda: default_data_dir() / SPOOL_FILE,
        json_schema_extra={"shown_default": f"<data_dir>/{SPOOL_FILE}"},
    )
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    flush_interval_s: float = Field(default=0.25, gt=0, le=60)
    # Rows waiting in memory; beyond them (after `enqueue_timeout_s`) rows go to the spool.
    max_queue: int = Field(default=200_000, ge=1)
    enqueue_timeout_s: float = Field(default=5.0, ge=0, le=600)
    # Unused since batches are spooled at the first failure (kept so older files still load).
    retry_attempts: int = Field(default=4, ge=0, le=20)
    # First pause before the spool is replayed after a failure; it doubles up to the interval.
    retry_base_s: float = Field(default=0.2, gt=0, le=30)
    replay_interval_s: float = Field(default=5.0, gt=0, le=3600)
    # An insert running longer than this counts as a hang: its rows and the queue are spooled.
    stall_s: float = Field(default=1.0, gt=0, le=600)
    # Names this process's spool with its role (service, bot, cli): <spool>.p-<role>-<replica>.
    replica_id: str = Field(default="0", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    connect_timeout_s: int = Field(default=5, ge=1, le=600)
    # PostgreSQL's statement_timeout for every connection (0: none).
    statement_timeout_s: float = Field(default=60.0, ge=0, le=86_400)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Every repr and str shows the URL with its password masked."""
        for key, value in super().__repr_args__():
            yield key, mask_url(value) if key == "url" else value
