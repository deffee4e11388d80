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


def _register_optional_commands() -> None:
    """Mount the commands of packages that are present (each adds its own in its cli module)."""
    import importlib

    for module_name in ("models.cli", "models.service.cli", "costing.cli", "bot.commands_cli"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        if hasattr(module, "register"):
            module.register(app)
        else:  # a package that exposes its commands as a Typer app of its own
            app.registered_commands.extend(module.app.registered_commands)


def main() -> None:
    """Console-script entry point: friendly errors instead of tracebacks."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _register_optional_commands()
    try:
        app()
    except SettingsError as error:
        typer.echo(f"costbot: {error}", err=True)
        sys.exit(2)
