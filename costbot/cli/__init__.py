"""The `costbot` command line: one entry point over every package's commands.

It reads the settings once (``state.settings_of``) and hands each command the sections it needs.
"""

from __future__ import annotations

import logging
import sys

import typer

from costbot.cli import admin, costs, outlook, run
from costbot.cli.state import SettingsSource
from costbot.errors import SettingsError, UsageError
from storage.errors import SchemaNotCurrentError, StorageUnavailableError

OWN_PACKAGES = ("costbot", "bot", "models", "costing", "storage")

app = typer.Typer(
    name="costbot",
    help="A support-classifier bot that knows what every answer costs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """A support-classifier bot that knows what every answer costs."""
    ctx.ensure_object(SettingsSource)


def _register() -> None:
    from models.cli import app as models_app

    app.registered_commands.extend(models_app.registered_commands)
    admin.register(app)
    costs.register(app)
    outlook.register(app)
    run.register(app)


_register()


def configure_logging(*, service_logs: bool = False) -> None:
    """Library logs at WARNING on stderr, never in a reply; costbot's own at INFO only for the
    long-running processes (`serve`, `up`), whose output is a log."""
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in OWN_PACKAGES:
        logging.getLogger(name).setLevel(logging.INFO if service_logs else logging.WARNING)


def main() -> None:
    """Console-script entry point: friendly errors instead of tracebacks."""
    configure_logging(service_logs=len(sys.argv) > 1 and sys.argv[1] in run.SERVICE_COMMANDS)
    try:
        app()
    except (SettingsError, UsageError, SchemaNotCurrentError) as error:
        _fail(str(error))
    except StorageUnavailableError as error:
        _fail(f"{error}; start the database or fix database.url (`costbot config show`)")


def _fail(message: str) -> None:
    """One line on stderr and exit code 2: the user's input or set-up needs changing."""
    typer.echo(f"costbot: {message}", err=True)
    sys.exit(2)
