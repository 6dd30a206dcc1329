"""Running Alembic from Kino: ``kino db upgrade``, and the check ``kino serve`` makes at start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

import kino
from kino.core.db import create_engine


def migrations_dir() -> Path:
    packaged = Path(kino.__file__).parent / "migrations"  # a wheel carries them inside
    return packaged if packaged.is_dir() else Path(kino.__file__).parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``. Blocking; call it outside an event loop."""
    if database_url.startswith("sqlite"):
        _ensure_sqlite_dir(database_url)
    command.upgrade(alembic_config(database_url), revision)


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


async def current_revision(database_url: str) -> str | None:
    if database_url.startswith("sqlite") and not _sqlite_path(database_url).exists():
        return None  # connecting would create an empty file
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_read_revision)
    finally:
        await engine.dispose()


async def pending_migrations(database_url: str) -> bool:
    return await current_revision(database_url) != head_revision(database_url)


def _read_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _sqlite_path(database_url: str) -> Path:
    return Path(database_url.split(":///", 1)[-1])


def _ensure_sqlite_dir(database_url: str) -> None:
    _sqlite_path(database_url).parent.mkdir(parents=True, exist_ok=True)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Take the database back to ``revision`` (all the way by default). Blocking."""
    command.downgrade(alembic_config(database_url), revision)
