from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kino.core.db import Database
from tests.conftest import Backend


async def _end_backend(database_url: str, pid: int) -> None:
    """Ends one server process, as a restart or an idle timeout would, and waits until it is
    gone."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await connection.execute("SELECT pg_terminate_backend($1)", pid)
        while await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
        ):
            await asyncio.sleep(0.01)
    finally:
        await connection.close()


async def test_a_pooled_connection_the_server_closed_is_not_handed_out(
    app: FastAPI, client: httpx.AsyncClient, backend: Backend
) -> None:
    assert (await client.get("/readyz")).status_code == 200
    if not backend.is_sqlite:  # an embedded database has no server to close connections
        async with app.state.db.engine.connect() as connection:  # the pooled one
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await _end_backend(backend.database_url, pid)
        await asyncio.sleep(0.01)  # the end of the connection reaches this event loop
    for _ in range(3):
        assert (await client.get("/readyz")).status_code == 200


async def test_statements_commit_one_by_one_on_postgresql_and_together_on_sqlite(
    app: FastAPI, backend: Backend
) -> None:
    db = app.state.db
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS kino_probe (id INTEGER)"))
        await session.execute(text("DELETE FROM kino_probe"))
    with pytest.raises(DBAPIError):
        await _insert_then_fail(db)
    async with db.transaction() as session:
        stored = (await session.execute(text("SELECT id FROM kino_probe"))).scalars()
        # On PostgreSQL the first statement committed by itself; on SQLite the failure rolled
        # back the transaction both were in.
        assert list(stored) == ([] if backend.is_sqlite else [1])
        await session.execute(text("DROP TABLE kino_probe"))


async def _insert_then_fail(db: Database) -> None:
    async with db.statements() as session:
        await session.execute(text("INSERT INTO kino_probe (id) VALUES (1)"))
        await session.execute(text("INSERT INTO no_such_table (id) VALUES (2)"))
