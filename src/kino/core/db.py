"""The database: one async engine per process, one session (one transaction) per request or job."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import greenlet_spawn

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only aliases ROWID (and so autoincrements) for a column declared exactly INTEGER.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """The engine for ``url``, keeping ``pool_size`` connections (and opening as many again
    when more are asked for at once)."""
    pool = {"pool_size": pool_size, "max_overflow": pool_size}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, **pool)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    engine = create_async_engine(url, echo=echo, **pool)
    event.listen(engine.sync_engine, "checkout", _drop_closed_connection)
    return engine


def _drop_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hands out no pooled connection that the server has closed (a restart, an idle timeout, a
    terminated backend): the pool replaces it. The driver knows that without asking the server;
    ``pool_pre_ping`` did ask, one round trip per checkout, on every request. A connection that
    dies unnoticed fails its statement, and that disconnect invalidates the pool."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Reads of a large catalog: 64 MiB page cache and memory-mapped I/O per connection.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


def is_sqlite(engine: AsyncEngine | Engine) -> bool:
    return engine.dialect.name == "sqlite"


# How many ``Database.driver`` connections a process uses at once: as many as the seat holds'
# turns (``kino.app.HOLD_TURNS``), so that an API hold waits for one turn, not two.
# bench/boxoffice.py, 64 buyers on two cores with PostgreSQL beside the server, two processes of
# 4: the p99 of holds 121-167 ms, against 152-285 ms with no limit, and as many holds a second.
DRIVER_TURNS = 8


class Database:
    """The engine and the session factory of one process."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.engine = create_engine(url, echo=echo, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # The driver's turns: each is a connection kept out of the pool for ``driver`` (None
        # until first needed, or after one was discarded). Waiters are served first come first
        # served; the connection used last is handed out first, so the others stay unopened
        # until the load needs them.
        self._driver_turns: asyncio.LifoQueue[_KeptConnection | None] = asyncio.LifoQueue()
        for _ in range(DRIVER_TURNS):
            self._driver_turns.put_nowait(None)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit on success, roll back on error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def driver(self) -> AsyncIterator[DriverConnection]:
        """A connection as its driver's own (asyncpg's, aiosqlite's), for ``DriverRead``s with
        no session: on a busy path, the session's and the ORM's work cost more than the
        statements themselves. On PostgreSQL each statement commits on its own, so a write
        there must be one statement, all or nothing (a seat hold). SQLite's driver begins a
        transaction at a write and nobody commits it: reads only.

        A process has ``DRIVER_TURNS`` of these, handed out in the order they were asked for;
        the others wait for their turn. Under a rush of holds, dozens of them interleaving at
        every round trip made each wait for all the others: the slowest answers took several
        times the median, with as many database backends competing for the same cores. Each
        turn keeps its connection checked out of the pool between uses: a checkout and checkin
        through SQLAlchemy's pool cost a seat hold about an eighth of its CPU (counted in
        process: 2.28M instructions per hold with them, 2.01M without).
        A connection the server closed is replaced when its turn comes; one that a statement
        left in doubt (cancelled, or the link broken) is discarded."""
        kept = await self._driver_turns.get()
        try:
            if kept is not None and kept.is_closed():
                await kept.discard()
                kept = None
            if kept is None:
                kept = await _KeptConnection.check_out(self.engine)
            yield kept.connection
        finally:
            if kept is not None and kept.connection.spoiled:
                self._driver_turns.put_nowait(None)
                await kept.discard()
            else:
                self._driver_turns.put_nowait(kept)

    async def dispose(self) -> None:
        """Returns the driver's connections, then closes every connection of the pool."""
        while not self._driver_turns.empty():
            kept = self._driver_turns.get_nowait()
            if kept is not None:
                await kept.give_back()
        await self.engine.dispose()


@dataclass(slots=True)
class DriverConnection:
    """A driver's connection (``Database.driver``), with the dialect that compiles for it. A
    statement that ends in doubt (cancelled, or not answered) marks it ``spoiled``."""

    driver: Any
    dialect: Dialect
    spoiled: bool = False


@dataclass(slots=True)
class _KeptConnection:
    """A pooled connection checked out for ``Database.driver``'s turns."""

    pooled: Any  # SQLAlchemy's pool proxy, to give it back or discard it
    connection: DriverConnection

    @classmethod
    async def check_out(cls, engine: AsyncEngine) -> _KeptConnection:
        pooled = await engine.raw_connection()
        return cls(pooled, DriverConnection(pooled.driver_connection, engine.dialect))

    def is_closed(self) -> bool:
        """Whether the server closed it (asyncpg knows without asking it)."""
        is_closed = getattr(self.connection.driver, "is_closed", None)
        return bool(is_closed is not None and is_closed())

    async def give_back(self) -> None:
        await greenlet_spawn(self.pooled.close)

    async def discard(self) -> None:
        """Closes it for good; the pool opens another in its place when asked. A statement
        still running on SQLite (in aiosqlite's thread, which a cancel does not reach) is
        interrupted first, or closing would wait for it to finish."""
        interrupt = getattr(self.connection.driver, "interrupt", None)
        if interrupt is not None:
            await interrupt()
        await greenlet_spawn(self.pooled.invalidate)


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """A string column that holds one of ``enum_cls``'s values. VARCHAR plus a CHECK rather than
    a native PostgreSQL enum, so adding a value later is an ordinary migration."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )
