"""Slash-command sync: only on request or when the command set changed, and never fatal.

A sync is a bulk overwrite that Discord rate-limits per day; syncing on every start wastes it,
and a refused sync (a guild invited without the `applications.commands` scope) must not stop
support mode, summaries and alerts. The last synced command set is kept as a hash in a small
file, per target (a guild or global).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Literal

import discord
from discord import app_commands

log = logging.getLogger(__name__)

SyncMode = Literal["changed", "always", "never"]
MISSING_ACCESS = 50001
UNKNOWN_GUILD = 10004
SYNC_TIMEOUT_S = 30.0


def command_hash(tree: app_commands.CommandTree[Any], guild: discord.Object | None) -> str:
    """A hash of the command payloads Discord would receive for `guild` (None: global)."""
    payload = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    data = json.dumps(sorted(payload, key=lambda c: str(c.get("name"))), sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


class SyncRecord:
    """The command hash last synced to each target, in a JSON file (absent: never synced)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def synced(self, target: str) -> str | None:
        """The hash last synced to `target`, if known."""
        return self._read().get(target)

    def remember(self, target: str, digest: str) -> None:
        """Record a successful sync (a lost record only costs one more sync)."""
        if self.path is None:
            return
        data = self._read() | {target: digest}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(data, indent=1, sort_keys=True))
        except OSError as error:
            log.warning("could not record the command sync in %s: %s", self.path, error)

    def _read(self) -> dict[str, str]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


async def sync_commands(
    tree: app_commands.CommandTree[Any],
    *,
    guild_id: int | None,
    mode: SyncMode,
    record: SyncRecord,
) -> bool:
    """Sync when asked or changed; a refusal is one warning naming the likely cause. True if
    Discord took the commands now."""
    guild = discord.Object(id=guild_id) if guild_id is not None else None
    if guild is not None:
        tree.copy_global_to(guild=guild)
    target = "global" if guild_id is None else f"guild {guild_id}"
    digest = command_hash(tree, guild)
    if mode == "never" or (mode == "changed" and record.synced(target) == digest):
        log.info("slash commands unchanged for %s: not synced (`costbot up --sync` forces)", target)
        return False
    try:
        # discord.py sleeps through a 429 however long it is: bound the wait, so a sync that
        # is rate-limited for hours never holds up the bot's start.
        synced = await asyncio.wait_for(tree.sync(guild=guild), SYNC_TIMEOUT_S)
    except TimeoutError:
        log.warning(
            "slash commands not synced to %s: no answer within %gs (most likely rate-limited by "
            "Discord); the bot runs on with the commands as they were",
            target,
            SYNC_TIMEOUT_S,
        )
        return False
    except (discord.HTTPException, discord.RateLimited) as error:
        log.warning(
            "slash commands not synced to %s: %s; the bot runs on", target, cause(error, guild_id)
        )
        return False
    record.remember(target, digest)
    log.info("synced %d slash commands to %s", len(synced), target)
    return True


def cause(error: discord.DiscordException, guild_id: int | None) -> str:
    """The likely reason Discord refused a sync, in words an operator can act on."""
    if isinstance(error, discord.RateLimited):
        wait = f"{error.retry_after:.0f}s"
        return f"rate-limited by Discord (retry in {wait}); the commands stay as they were"
    assert isinstance(error, discord.HTTPException)
    where = f"server {guild_id} (discord.sync_guild_id)" if guild_id is not None else "Discord"
    if error.status == 429:
        return "rate-limited by Discord (too many syncs today); commands stay as they were"
    if error.code == MISSING_ACCESS or isinstance(error, discord.Forbidden):
        return (
            f"{where} refused access (HTTP {error.status}, code {error.code}): the bot was likely "
            "invited without the `applications.commands` scope; re-invite it with the scopes "
            "`bot applications.commands`, or unset discord.sync_guild_id"
        )
    if error.code == UNKNOWN_GUILD or isinstance(error, discord.NotFound):
        return f"{where} is unknown to the bot (HTTP {error.status}): is the bot a member there?"
    return f"{where} answered HTTP {error.status} (code {error.code}): {error.text or 'no detail'}"
