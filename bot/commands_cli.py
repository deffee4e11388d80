"""The bot's commands on the `costbot` command line: `console` and `up`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add `costbot console`, `costbot up` and `costbot demo`."""
    app.command("console")(console)
    app.command("up")(up)
    app.command("demo")(demo)


def demo(
    workdir: Annotated[
        Path, typer.Option(help="made anew: the demo's database, spool and charts")
    ] = Path("costbot-demo"),
) -> None:
    """Replay a scripted support conversation through the real service and report its ROI."""
    from rich.console import Console

    from bot.demo.run import run_demo

    run_demo(workdir=workdir, console=Console())


def console(
    charts_dir: Annotated[Path, typer.Option(help="where attached charts are saved")] = Path(
        "costbot-charts"
    ),
) -> None:
    """Type `/classify my card has not arrived` (or a customer message) and read the reply."""
    from bot.console import run_console
    from storage.settings import load_settings

    asyncio.run(run_console(load_settings(), stream=sys.stdin, charts_dir=charts_dir))


def up(
    service: Annotated[bool, typer.Option(help="also start the model service")] = True,
) -> None:
    """Run the model service, the Discord bot and the schedulers (needs DISCORD_TOKEN)."""
    from bot.errors import ConfigurationError
    from bot.up import run_up
    from storage.settings import load_settings

    try:
        run_up(load_settings(), with_service=service)
    except ConfigurationError as error:
        typer.echo(f"costbot up: {error}", err=True)
        raise typer.Exit(2) from None
