"""Fixtures shared by every test.

Each test runs in both modes: ``embedded`` (SQLite, in-process limits, files) and, when
``KINO_TEST_DATABASE_URL`` / ``KINO_TEST_REDIS_URL`` are set (CI sets them), ``distributed``
(PostgreSQL, Redis, and S3 storage on moto's S3 server over HTTP, a fresh bucket per test). The
schema is migrated once per mode with Alembic; each test then starts from empty tables. In a
parallel run (``pytest -n``) each process has a database and Redis numbers of its own
(tests/parallel.py).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from redis import asyncio as redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kino.app import create_app, dispose
from kino.core.db import create_engine
from kino.core.migrate import upgrade
from kino.identity import passwords
from kino.settings import Settings
from tests.parallel import create_worker_database, worker_database_url, worker_redis_url
from tests.s3_server import S3TestServer, running_s3_server

BASE_DATABASE_URL = os.environ.get("KINO_TEST_DATABASE_URL")
BASE_REDIS_URL = os.environ.get("KINO_TEST_REDIS_URL")
# This process's own: the same as the base ones unless pytest runs in parallel.
TEST_DATABASE_URL = worker_database_url(BASE_DATABASE_URL) if BASE_DATABASE_URL else None
TEST_REDIS_URL = worker_redis_url(BASE_REDIS_URL) if BASE_REDIS_URL else None
MODES = ["embedded", "distributed"]


@dataclass(frozen=True)
class Backend:
    mode: str
    database_url: str
    redis_url: str | None
    sqlite_template: Path | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.sqlite_template is not None


# Still Argon2id, with the smallest cost: most tests check rules, not the hash's strength
# (tests/identity/test_passwords.py and the CLI tests use the real parameters).
_CHEAP_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_hasher", _CHEAP_HASHER)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", _CHEAP_HASHER.hash("dummy-password-1"))


@pytest.fixture(scope="session", params=MODES)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    if request.param == "embedded":
        template = tmp_path_factory.mktemp("sqlite") / "template.db"
        upgrade(f"sqlite+aiosqlite:///{template}")
        return Backend("embedded", "", None, template)
    if not BASE_DATABASE_URL or not TEST_DATABASE_URL or not TEST_REDIS_URL:
        pytest.skip("KINO_TEST_DATABASE_URL and KINO_TEST_REDIS_URL are not set (CI sets them)")
    create_worker_database(BASE_DATABASE_URL)
    _reset_postgres(TEST_DATABASE_URL)
    upgrade(TEST_DATABASE_URL)
    return Backend("distributed", TEST_DATABASE_URL, TEST_REDIS_URL)


def _reset_postgres(url: str) -> None:
    async def reset() -> None:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


# The tables a test may have left something in: those with a row, and those whose id sequence
# has been drawn from since it was last restarted (its last_value is NULL until then). Emptying
# only these is the same as emptying every table, at a fraction of the cost of a TRUNCATE of
# all forty-odd tables before each test.
_USED_TABLES = """
SELECT DISTINCT owner.relname
FROM pg_class owner
JOIN pg_namespace schema ON schema.oid = owner.relnamespace AND schema.nspname = 'public'
JOIN pg_depend link ON link.refobjid = owner.oid AND link.classid = 'pg_class'::regclass
JOIN pg_class sequence ON sequence.oid = link.objid AND sequence.relkind = 'S'
JOIN pg_sequences drawn ON drawn.schemaname = 'public' AND drawn.sequencename = sequence.relname
WHERE drawn.last_value IS NOT NULL
"""


async def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        tables = (
            await connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ).scalars()
        with_rows = " UNION ALL ".join(
            f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables
        )
        used = set((await connection.execute(text(_USED_TABLES))).scalars())
        if with_rows:
            used |= set((await connection.execute(text(with_rows))).scalars())
        used.discard("alembic_version")
        if used:
            names = ", ".join(f'"{name}"' for name in sorted(used))
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3TestServer]:
    """moto's S3 server over HTTP, started once per session when a test needs it."""
    with running_s3_server() as server:
        yield server


@pytest.fixture
async def settings(backend: Backend, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    if backend.sqlite_template is not None:
        database = data_dir / "kino.db"
        shutil.copyfile(backend.sqlite_template, database)
        database_url = f"sqlite+aiosqlite:///{database}"
    else:
        await _truncate_postgres(backend.database_url)
        database_url = backend.database_url
    if backend.redis_url:
        client = redis.Redis.from_url(backend.redis_url)
        await client.flushdb()
        await client.aclose()
    storage_url = None
    if not backend.is_sqlite:
        s3: S3TestServer = request.getfixturevalue("s3_server")
        storage_url = s3.storage_url(s3.create_bucket())
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=backend.redis_url,
        storage_url=storage_url,
        secret_key="test-secret-key-that-is-long-enough-for-hs256",  # type: ignore[arg-type]
        environment="test",
        log_format="console",
        log_level="WARNING",
        # Two test processes share PostgreSQL's 100 connections, with apps of their own.
        database_pool_size=8,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    yield application
    await dispose(application)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as http:
        yield http


@pytest.fixture
async def session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session in its own transaction, committed when the test's block of work ends."""
    async with app.state.db.transaction() as db_session:
        yield db_session
