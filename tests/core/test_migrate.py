from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from sqlalchemy import inspect

from kino.core.db import create_engine
from kino.core.migrate import alembic_config, downgrade, pending_migrations, upgrade
from tests.conftest import Backend

KINO = str(Path(sys.executable).with_name("kino"))
CORE_TABLES = {"users", "refresh_tokens", "api_keys", "movies", "people", "credits", "genres"}


@pytest.fixture
def scratch_database_url(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend's kind, separate from the one the tests share."""
    if backend.is_sqlite:
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    server, _, name = backend.database_url.rpartition("/")
    scratch = f"{name}_migrations"
    plain_server = server.replace("+asyncpg", "")
    asyncio.run(_recreate(plain_server, scratch))
    yield f"{server}/{scratch}"
    asyncio.run(_drop(plain_server, scratch))


async def _recreate(server: str, name: str) -> None:
    await _drop(server, name)
    connection = await asyncpg.connect(f"{server}/postgres")
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()


async def _drop(server: str, name: str) -> None:
    connection = await asyncpg.connect(f"{server}/postgres")
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names


def test_migrations_upgrade_downgrade_and_upgrade_again(scratch_database_url: str) -> None:
    url = scratch_database_url
    assert asyncio.run(pending_migrations(url))
    upgrade(url)
    assert CORE_TABLES <= asyncio.run(_tables(url))
    assert not asyncio.run(pending_migrations(url))
    downgrade(url)
    assert asyncio.run(_tables(url)) <= {"alembic_version"}
    upgrade(url)
    assert CORE_TABLES <= asyncio.run(_tables(url))


def test_migrations_match_the_models(scratch_database_url: str) -> None:
    upgrade(scratch_database_url)
    command.check(alembic_config(scratch_database_url))  # raises when a migration is missing


async def test_checking_a_missing_sqlite_database_does_not_create_it(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'kino.db'}"
    assert await pending_migrations(url)
    assert not (tmp_path / "new").exists()


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {**os.environ, "KINO_DATA_DIR": str(tmp_path)}
    env.pop("KINO_DATABASE_URL", None)
    result = subprocess.run(
        [KINO, "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "kino db upgrade" in result.stderr
