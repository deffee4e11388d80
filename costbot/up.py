"""`costbot up`: the model service, the Discord bot and the one scheduler together."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import discord
import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.discord_app.app import BotDeps, CostBot, build_bot
from bot.discord_app.sync import SyncMode
from bot.errors import ConfigurationError
from bot.runtime import Resources, open_resources
from bot.settings import BotConfig, DiscordSettings
from costbot.scheduler import build_scheduler, scheduler_problem
from models.service.settings import ServiceSettings
from storage.leader import Leadership
from storage.migrate import migrate_database

log = logging.getLogger(__name__)
SERVICE_START_TIMEOUT_S = 180.0
SHUTDOWN_GRACE_S = 5.0  # uvicorn's graceful shutdown beyond the request timeout (costbot serve)
WRITER_CLOSE_S = 10.0  # RecordWriter.close's default


def require_token(discord: DiscordSettings) -> str:
    """The Discord token from the environment, or a clear error saying how to provide it."""
    token = discord.token
    if token is None or not token.get_secret_value().strip():
        raise ConfigurationError(
            "DISCORD_TOKEN is not set. Create a bot at https://discord.com/developers/applications,"
            " then run `DISCORD_TOKEN=... costbot up` (the token is read from the environment "
            "only, never from costbot.toml). Without Discord, try `costbot console`."
        )
    return token.get_secret_value()


@contextmanager
def service_process(
    service: ServiceSettings, *, log_path: Path | None = None, ready: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `costbot serve` in a child process and wait until it is live (or, with `ready`, until
    its model is loaded); stop it on exit. The child reads the same configuration.

    Its output goes to `log_path` when one is given, else to this process's own.
    """
    command = [sys.executable, "-m", "costbot", "serve"]
    command += ["--host", service.host, "--port", str(service.port)]
    log = log_path.open("ab") if log_path is not None else None
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT if log else None)
    try:
        _wait_answers(service.url, process, "/readyz" if ready else "/healthz")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=stop_timeout_s(service))
        except subprocess.TimeoutExpired:
            process.kill()
        if log is not None:
            log.close()


def stop_timeout_s(service: ServiceSettings) -> float:
    """How long the service may take to stop: draining requests in flight, uvicorn's graceful
    shutdown, then the record writer's close (which spools what it cannot write in time)."""
    return 2 * service.request_timeout_s + SHUTDOWN_GRACE_S + WRITER_CLOSE_S + 10


def _wait_answers(url: str, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + SERVICE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigurationError(f"the model service exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise ConfigurationError(f"the model service did not start within {SERVICE_START_TIMEOUT_S}s")


def run_up(
    bot: BotConfig,
    service: ServiceSettings | None,
    *,
    sync_commands: SyncMode = "changed",
    schedulers: bool = True,
) -> None:
    """Run everything until SIGINT/SIGTERM, then shut down in order (no service: run elsewhere;
    no schedulers: aggregation, summaries and alerts are left to another process)."""
    token = require_token(bot.discord)
    migrate_database(bot.database)
    discord.VoiceClient.warn_nacl = False  # the bot never joins voice: no warning about it
    with _discord_problems_in_one_line():
        if service is None:
            asyncio.run(_run_bot(bot, token, sync_commands, schedulers))
            return
        with service_process(service):
            asyncio.run(_run_bot(bot, token, sync_commands, schedulers))


@contextmanager
def _discord_problems_in_one_line() -> Iterator[None]:
    """Discord unreachable or refusing the token: a ConfigurationError saying so (and what to
    check) instead of a traceback through aiohttp."""
    try:
        yield
    except aiohttp.ClientConnectorError as error:
        reason = _reason(error.os_error)
        raise ConfigurationError(
            f"cannot reach Discord at {error.host}:{error.port} ({reason}); check this "
            "machine's network, DNS and firewall, then start again"
        ) from None
    except discord.LoginFailure:
        raise ConfigurationError(
            "Discord refused the token in DISCORD_TOKEN; copy the bot's token again from "
            "https://discord.com/developers/applications"
        ) from None


def _reason(error: OSError) -> str:
    """'Connection refused', 'Name or service not known': the OS's words, without addresses."""
    if isinstance(error, ConnectionError) and error.errno:
        return os.strerror(error.errno)
    return error.strerror or type(error).__name__


def sync_record_path(config: BotConfig) -> Path:
    """Where the last synced slash-command set is kept: beside the record spool."""
    return config.database.spool_path.parent / "costbot-commands.json"


async def _run_bot(
    config: BotConfig, token: str, sync_commands: SyncMode, schedulers: bool
) -> None:
    async with open_resources(config) as res:
        scheduler: AsyncIOScheduler | None = None
        leadership = Leadership(res.engine)
        bot = build_bot(
            config,
            http_client=res.http,
            deps=BotDeps(
                session_factory=res.session_factory,
                record=res.writer.submit,
                scheduler=lambda: scheduler_problem(scheduler) if schedulers else None,
                sync_record=sync_record_path(config),
            ),
            sync_commands=sync_commands,
        )
        if schedulers:
            scheduler = _start_scheduler(config, res, bot=bot, leadership=leadership)
        _stop_on_signals(bot)
        try:
            await bot.start(token)
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            leadership.release()
            if not bot.is_closed():
                await bot.close()


def _start_scheduler(
    config: BotConfig, res: Resources, *, bot: CostBot, leadership: Leadership
) -> AsyncIOScheduler:
    """Every process schedules the jobs; only the leader (one per database) runs them."""
    scheduler = build_scheduler(
        session_factory=res.session_factory,
        costing=config.costing,
        summaries=config.discord.summaries,
        poster=bot.post,
        support=config.support,
        leadership=leadership,
    )
    scheduler.start()
    return scheduler


def _stop_on_signals(bot: CostBot) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
