"""The demo's working folder: made by the demo and marked, so a rerun clears only what the demo
itself left there, and a folder it did not make is never touched."""

from __future__ import annotations

from pathlib import Path

from costbot.errors import UsageError

MARKER = ".costbot-demo"
# What a rerun clears: the demo's database and spools (so it starts from an empty database).
# Everything else it writes (charts, service.log) is overwritten; nothing else is removed.
OWN_STATE = (
    "costbot.db",
    "costbot.db-wal",
    "costbot.db-shm",
    "costbot.db-journal",
    "spool.jsonl*",
    "spool.p-*",
)


def prepare_workdir(workdir: Path) -> None:
    """Make `workdir` for a demo run: create and mark it, or clear the demo's own database and
    spools from a folder an earlier demo marked. Raise UsageError, changing nothing, for an
    existing non-empty folder without the marker (or a path that is not a folder)."""
    if workdir.exists() and not workdir.is_dir():
        raise UsageError(f"--workdir {workdir} is a file; give a folder the demo may create")
    if workdir.is_dir() and not (workdir / MARKER).is_file() and any(workdir.iterdir()):
        raise UsageError(
            f"--workdir {workdir} is not empty and was not made by `costbot demo`; nothing was "
            "changed: give a new or empty folder (the demo writes a database and charts there)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by `costbot demo`; a rerun clears its database here\n")
    for pattern in OWN_STATE:
        for path in workdir.glob(pattern):
            if path.is_file():
                path.unlink()
