"""`costbot db …` and `costbot config …`."""

from __future__ import annotations

import json

import typer

from costbot.cli.state import settings_of
from costbot.settings import masked_dump
from storage.db import check_connection, create_db_engine
from storage.migrate import current_revision, schema_problem, upgrade
from storage.urls import mask_url

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
config_app = typer.Typer(help="Effective configuration.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context, revision: str = typer.Argument("head", help="Target revision.")
) -> None:
    """Create or migrate the database schema to the latest revision."""
    database = settings_of(ctx).database
    engine = create_db_engine(database)
    check_connection(engine)
    upgrade(engine, revision)
    typer.echo(f"{mask_url(database.url)} is at revision {current_revision(engine)}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the schema revision the database is at, and whether this costbot needs another."""
    engine = create_db_engine(settings_of(ctx).database)
    problem = schema_problem(engine)
    typer.echo(current_revision(engine) or "empty")
    if problem is not None:
        typer.echo(f"the database {problem}", err=True)


@config_app.command("reference")
def config_reference() -> None:
    """Print the configuration reference (Markdown), generated from the settings models."""
    from costbot.reference import render_reference

    typer.echo(render_reference(), nl=False)


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings (file + environment), secrets masked."""
    typer.echo(json.dumps(masked_dump(settings_of(ctx)), indent=2, sort_keys=True))


def register(app: typer.Typer) -> None:
    """Add `db` and `config`."""
    app.add_typer(db_app, name="db")
    app.add_typer(config_app, name="config")
