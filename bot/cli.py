"""The `costbot` command line: one entry point over every package's commands."""

from __future__ import annotations

import logging
import sys

import typer

from storage.cli import config_app, db_app
from storage.errors import SettingsError

app = typer.Typer(
    name="costbot",
    help="A support-classifier bot that knows what every answer costs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")


def _register_commands() -> None:
    """Mount each package's commands (imported here, not at module import, to keep --help fast)."""
    from bot.commands_cli import register as register_bot
    from costing.cli import register as register_costing
    from models.cli import app as models_app
    from models.service.cli import register as register_service

    app.registered_commands.extend(models_app.registered_commands)
    register_service(app)
    register_costing(app)
    register_bot(app)


def main() -> None:
    """Console-script entry point: friendly errors instead of tracebacks."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _register_commands()
    try:
        app()
    except SettingsError as error:
        typer.echo(f"costbot: {error}", err=True)
        sys.exit(2)
