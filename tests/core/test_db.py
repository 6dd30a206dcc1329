from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Integer, Select, bindparam, column, func, literal, select, table, text

from kino.core.db import DRIVER_TURNS, Database
from kino.core.reads import DriverError, DriverRead
from kino.settings import Settings
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


PROBES = table("kino_probe", column("id", Integer))
INSERT_PROBE = (
    text("INSERT INTO kino_probe (id) VALUES (:id) RETURNING id")
    .bindparams(bindparam("id", type_=Integer))
    .columns(id=Integer)
)


async def test_driver_reads_run_on_a_pooled_connection_without_a_session(app: FastAPI) -> None:
    db: Database = app.state.db
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS kino_probe (id INTEGER)"))
        await session.execute(text("DELETE FROM kino_probe"))
        await session.execute(text("INSERT INTO kino_probe (id) VALUES (1), (2), (3)"))
    read = DriverRead(select(PROBES.c.id).where(PROBES.c.id >= bindparam("least")).order_by("id"))
    try:
        async with db.driver() as connection:
            assert [row.id for row in await read.records(connection, least=2)] == [2, 3]
        async with db.transaction() as session:  # the same statement, on a session's connection
            assert [row.id for row in await read.records(session, least=3)] == [3]
    finally:
        async with db.transaction() as session:
            await session.execute(text("DROP TABLE kino_probe"))


async def test_driver_statements_on_postgresql_commit_one_by_one_and_errors_keep_their_sqlstate(
    app: FastAPI, backend: Backend
) -> None:
    """A write, then a failing statement, on one ``Database.driver`` connection: on PostgreSQL
    the write stays, and the failure is a ``DriverError`` with its SQLSTATE. On SQLite such a
    connection is for reads (its driver would leave a write uncommitted), and a bad statement
    fails as the driver's own error."""
    db: Database = app.state.db
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS kino_probe (id INTEGER)"))
        await session.execute(text("DELETE FROM kino_probe"))
    missing = DriverRead(select(column("id")).select_from(table("no_such_table")))
    expected: type[Exception] = sqlite3.OperationalError if backend.is_sqlite else DriverError
    try:
        async with db.driver() as connection:
            if not backend.is_sqlite:
                inserted = await DriverRead(INSERT_PROBE).records(connection, id=1)
                assert [row.id for row in inserted] == [1]
            with pytest.raises(expected) as failed:
                await missing.records(connection)
        if isinstance(failed.value, DriverError):
            assert failed.value.sqlstate == "42P01"  # undefined table
        async with db.transaction() as session:
            stored = (await session.execute(text("SELECT id FROM kino_probe"))).scalars()
            assert list(stored) == ([] if backend.is_sqlite else [1])
    finally:
        async with db.transaction() as session:
            await session.execute(text("DROP TABLE kino_probe"))


async def test_driver_connections_are_handed_out_a_few_at_a_time_in_the_order_asked(
    app: FastAPI,
) -> None:
    db: Database = app.state.db
    order: list[str] = []
    done = {name: asyncio.Event() for name in [*map(str, range(DRIVER_TURNS)), "A", "B"]}

    async def use(name: str) -> None:
        async with db.driver():
            order.append(name)
            await done[name].wait()

    async def settled() -> None:
        for _ in range(10):  # whatever could run now has run
            await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(use(str(number))) for number in range(DRIVER_TURNS)]
    await settled()
    for name in ("A", "B"):  # asked for in this order, while every turn is taken
        tasks.append(asyncio.create_task(use(name)))
        await settled()
    assert sorted(order) == [str(number) for number in range(DRIVER_TURNS)]
    done["0"].set()  # one turn comes free: the first to ask gets it
    await settled()
    assert order[DRIVER_TURNS:] == ["A"]
    for event in done.values():
        event.set()
    await asyncio.gather(*tasks)
    assert order[DRIVER_TURNS:] == ["A", "B"]


BACKEND_PID = DriverRead(select(func.pg_backend_pid().label("pid")))


async def _driver_identity(db: Database, backend: Backend) -> object:
    """Which connection ``db.driver`` hands out: PostgreSQL's server process id, or the driver's
    connection object on SQLite."""
    async with db.driver() as connection:
        if backend.is_sqlite:
            return connection.driver
        [row] = await BACKEND_PID.records(connection)
        return row.pid


@pytest.fixture
async def own_db(settings: Settings) -> AsyncIterator[Database]:
    """A ``Database`` of the test's own (not the app's), disposed at the end."""
    db = Database(settings.sqlalchemy_url)
    yield db
    await db.dispose()


def _checked_out(db: Database) -> int:
    """How many of the pool's connections are out."""
    return int(db.engine.pool.checkedout())  # type: ignore[attr-defined]


async def test_a_turn_keeps_its_connection_between_uses_and_gives_it_back_at_dispose(
    own_db: Database, backend: Backend
) -> None:
    first = await _driver_identity(own_db, backend)
    assert await _driver_identity(own_db, backend) == first
    assert _checked_out(own_db) == 1
    await own_db.dispose()
    assert _checked_out(own_db) == 0


async def test_a_driver_connection_the_server_closed_is_replaced_at_its_next_turn(
    own_db: Database, backend: Backend
) -> None:
    first = await _driver_identity(own_db, backend)
    if not backend.is_sqlite:  # an embedded database has no server to close connections
        assert isinstance(first, int)
        await _end_backend(backend.database_url, first)
        await asyncio.sleep(0.01)  # the end of the connection reaches this event loop
    again = await _driver_identity(own_db, backend)
    assert (again == first) is backend.is_sqlite
    assert await _driver_identity(own_db, backend) == again


async def test_a_driver_connection_whose_statement_was_cancelled_is_not_handed_out_again(
    own_db: Database, backend: Backend
) -> None:
    """A statement cancelled halfway (a client that went away) leaves its connection in doubt:
    it is closed, and the turn gets a new connection that works."""
    slow = DriverRead(_slow_statement(backend))
    started = asyncio.Event()

    async def wait_for_slow_statement() -> None:
        async with own_db.driver() as connection:
            started.set()
            await slow.records(connection)

    first = await _driver_identity(own_db, backend)
    task = asyncio.create_task(wait_for_slow_statement())
    await started.wait()
    await asyncio.sleep(0.2)  # the statement is running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _driver_identity(own_db, backend) != first
    assert _checked_out(own_db) == 1


def _slow_statement(backend: Backend) -> Select[Any]:
    """A read that takes seconds: PostgreSQL sleeps; SQLite counts through a recursive query."""
    if not backend.is_sqlite:
        return select(func.pg_sleep(5).label("slept"))
    numbers = select(literal(1).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(select(numbers.c.n + 1).where(numbers.c.n < 10**8))
    return select(func.count().label("counted")).select_from(numbers)
