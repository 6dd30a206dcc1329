"""Separate databases for the processes of a parallel run (``pytest -n``, pytest-xdist).

Each worker process (``gw0``, ``gw1`` …) tests against a PostgreSQL database of its own, named
after KINO_TEST_DATABASE_URL's with the worker's name appended (``test_gw0``) and created on
first use, and against Redis databases of its own: KINO_TEST_REDIS_URL's number plus the
worker's index for the app, and that plus ``BROKER_DB_OFFSET`` for the Celery broker. A run
without workers uses the URLs as they are.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit, urlunsplit

import asyncpg

# The Celery broker's Redis database is the app's number + 8, so runs on other databases do not
# share messages; the app's numbers of a parallel run therefore take at most 8 databases.
BROKER_DB_OFFSET = 8
REDIS_DATABASES = 16  # Redis's default `databases`

WORKER = os.environ.get("PYTEST_XDIST_WORKER")
WORKER_COUNT = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def worker_index() -> int:
    """This process's number in a parallel run (``gw3`` is 3), 0 without workers."""
    return int(WORKER.removeprefix("gw")) if WORKER else 0


def worker_database_url(url: str) -> str:
    """``url`` with this worker's database name (``…/test`` becomes ``…/test_gw0``)."""
    if not WORKER:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path}_{WORKER}"))


def worker_redis_url(url: str) -> str:
    """``url`` with this worker's database number: the URL's own plus the worker's index."""
    if not WORKER:
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    highest = base + WORKER_COUNT - 1 + BROKER_DB_OFFSET
    if WORKER_COUNT > BROKER_DB_OFFSET or highest >= REDIS_DATABASES:
        raise RuntimeError(
            f"{WORKER_COUNT} test processes on Redis database {base} would need databases up to "
            f"{highest} (each process takes its own, plus one {BROKER_DB_OFFSET} higher for "
            f"Celery's broker): run fewer processes or start from a lower database number"
        )
    number = base + worker_index()
    return urlunsplit(parts._replace(path=f"/{number}"))


def create_worker_database(base_url: str) -> None:
    """Create this worker's database unless it exists, connected to ``base_url``'s (the only
    database a test server is sure to have)."""
    if not WORKER:
        return
    name = urlsplit(worker_database_url(base_url)).path.strip("/")

    async def create() -> None:
        connection = await asyncpg.connect(base_url.replace("+asyncpg", "", 1))
        try:
            if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await connection.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass  # another run made it between the check and the CREATE
        finally:
            await connection.close()

    asyncio.run(create())
