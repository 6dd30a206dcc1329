from __future__ import annotations

import asyncio

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy import text

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
