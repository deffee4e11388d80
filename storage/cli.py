"""`costbot db …` and `costbot config show`."""

from __future__ import annotations

import json

import typer

from storage.db import create_db_engine
from storage.migrate import current_revision, upgrade
from storage.settings import load_settings, mask_url, masked_dump

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
config_app = typer.Typer(help="Effective configuration.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or migrate the database schema to the latest revision."""
    settings = load_settings()
    engine = create_db_engine(settings.database)
    upgrade(engine, revision)
    typer.echo(f"{mask_url(settings.database.url)} is at revision {current_revision(engine)}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision the database is at."""
    settings = load_settings()
    typer.echo(current_revision(create_db_engine(settings.database)) or "empty")


@config_app.command("reference")
def config_reference() -> None:
    """Print the configuration reference (Markdown), generated from the settings model."""
    from storage.settings_reference import render_reference

    typer.echo(render_reference(), nl=False)


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings (file + environment), secrets masked."""
    typer.echo(json.dumps(masked_dump(load_settings()), indent=2, sort_keys=True))
