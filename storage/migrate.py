"""Schema changes, only through Alembic: `costbot db upgrade` and the test fixtures call this."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from storage.db import check_connection, create_db_engine, engine_host
from storage.errors import SchemaNotCurrentError, StorageUnavailableError
from storage.settings import DatabaseSettings

UPGRADE_COMMAND = "costbot db upgrade"

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to the engine, with no alembic.ini needed."""
    config = alembic_config_without_engine()
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to the given revision."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database schema down to the given revision."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def head_revision() -> str:
    """The newest revision this code knows (what `upgrade` brings a database to)."""
    heads = ScriptDirectory.from_config(alembic_config_without_engine()).get_heads()
    return str(heads[0])


def alembic_config_without_engine() -> Config:
    """An Alembic config for reading the migration scripts only."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def schema_problem(engine: Engine) -> str | None:
    """None when the schema is at this code's head revision, else what is wrong with it, e.g.
    ``has no costbot schema (never migrated)``; StorageUnavailableError when the database does
    not answer."""
    check_connection(engine)
    try:
        current = current_revision(engine)
    except OperationalError as error:
        raise StorageUnavailableError(f"database at {engine_host(engine)} unreachable") from error
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return "has no costbot schema (never migrated)"
    known = {
        script.revision
        for script in ScriptDirectory.from_config(alembic_config_without_engine()).walk_revisions()
    }
    if current not in known:
        return f"is at revision {current}, newer than this costbot knows ({head}): upgrade costbot"
    return f"is at revision {current}, older than this costbot needs ({head})"


def require_current_schema(engine: Engine) -> None:
    """Raise SchemaNotCurrentError (naming the database and `costbot db upgrade`) unless the
    schema is at head; StorageUnavailableError when the database does not answer."""
    problem = schema_problem(engine)
    if problem is None:
        return
    fix = "" if "newer" in problem else f"; run `{UPGRADE_COMMAND}`"
    raise SchemaNotCurrentError(f"the database at {engine_host(engine)} {problem}{fix}")


def migrate_database(settings: DatabaseSettings) -> None:
    """Bring the configured database's schema to head (what `costbot up` and `costbot serve
    --migrate` do on start); StorageUnavailableError, naming the masked host, when it does not
    answer."""
    engine = create_db_engine(settings)
    try:
        check_connection(engine)
        upgrade(engine)
    finally:
        engine.dispose()
