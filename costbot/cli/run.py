"""The long-running commands: `serve`, `console`, `up`, and `demo`."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer

from costbot.cli.state import settings_of

SHUTDOWN_GRACE_S = 5.0
SERVICE_COMMANDS = ("serve", "up")  # their output is a log: costbot's own lines at INFO


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="listen address (default service.host)"),
    port: int | None = typer.Option(None, "--port", help="listen port (default service.port)"),
    migrate: bool = typer.Option(
        False, "--migrate", help="first bring the database schema up to date (`db upgrade`)"
    ),
    replicas: int = typer.Option(
        0, "--replicas", min=0, help="run N Ray Serve replicas (costbot[scale]); 0: one process"
    ),
) -> None:
    """Run the model service (HTTP API on uvicorn) until SIGTERM or Ctrl-C; on SIGTERM it first
    answers new requests 503 `shutting_down` while those in flight finish. Without `--migrate`
    a database that is not migrated keeps /readyz at 503, saying to run `costbot db upgrade`."""
    from models.service.app import create_app
    from models.service.edge import UnprotectedServiceError
    from models.service.replicas import RayMissingError, run_replicas
    from models.service.server import serve as serve_app
    from storage.migrate import migrate_database

    config = settings_of(ctx).service_config()
    service = config.service
    if migrate:
        migrate_database(config.database)
    try:
        if replicas:  # N Ray Serve replicas on the same host and port
            run_replicas(config, replicas=replicas, host=host, port=port)
            return
        serve_app(
            create_app(config),
            host=host or service.host,
            port=port or service.port,
            graceful_s=service.request_timeout_s + SHUTDOWN_GRACE_S,
        )
    except (UnprotectedServiceError, RayMissingError) as error:
        typer.echo(f"costbot serve: {error}", err=True)
        raise typer.Exit(2) from None


def console(
    ctx: typer.Context,
    charts_dir: Annotated[
        Path | None, typer.Option(help="where attached charts are saved [default: DATA_DIR/charts]")
    ] = None,
) -> None:
    """Type `/classify my card has not arrived` (or a customer message) and read the reply."""
    from bot.console import run_console

    settings = settings_of(ctx)
    asyncio.run(
        run_console(
            settings.bot_config(),
            stream=tolerant_stdin(),
            charts_dir=charts_dir or settings.data_dir / "charts",
        )
    )


def tolerant_stdin() -> TextIO:
    """Standard input that reads undecodable bytes as U+FFFD instead of stopping the console."""
    stream = sys.stdin
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="replace")
    return stream


def up(
    ctx: typer.Context,
    service: Annotated[bool, typer.Option(help="also start the model service")] = True,
    sync: Annotated[
        bool,
        typer.Option(
            "--sync",
            help="sync the slash commands with Discord now (otherwise only when they changed)",
        ),
    ] = False,
    schedulers: Annotated[
        bool,
        typer.Option(
            help="run the scheduled work here (aggregation, summaries, alerts); with several "
            "processes on one PostgreSQL only one leads at a time",
        ),
    ] = True,
) -> None:
    """Run the model service, the Discord bot and the scheduler (needs DISCORD_TOKEN)."""
    from bot.errors import ConfigurationError
    from costbot.up import run_up

    settings = settings_of(ctx)
    try:
        run_up(
            settings.bot_config(),
            settings.service if service else None,
            sync_commands="always" if sync else "changed",
            schedulers=schedulers,
        )
    except ConfigurationError as error:
        typer.echo(f"costbot up: {error}", err=True)
        raise typer.Exit(2) from None


def demo(
    ctx: typer.Context,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="a new or empty folder, or one an earlier demo made (its database is made "
            "anew): the demo's database, spool and charts [default: DATA_DIR/demo]"
        ),
    ] = None,
) -> None:
    """Replay a scripted support conversation through the real service and report its ROI."""
    from rich.console import Console

    from costbot.demo.run import run_demo

    settings = settings_of(ctx)
    run_demo(settings, workdir=workdir or settings.data_dir / "demo", console=Console())


def register(app: typer.Typer) -> None:
    """Add `serve`, `console`, `up` and `demo`."""
    app.command("serve")(serve)
    app.command("console")(console)
    app.command("up")(up)
    app.command("demo")(demo)
