"""Hot reads straight through the database driver, on the session's connection.

SQLAlchemy's execution path costs more than the busiest reads themselves (a catalog page, the
caller's user row): on SQLite each
statement is four hops to aiosqlite's thread (cursor, execute, fetch, close), each a wait for the
thread and the GIL; on PostgreSQL, SQLAlchemy's result machinery per row. A ``DriverRead`` is a
Core SELECT compiled once per engine; it runs in one call to the driver (aiosqlite's
``execute_fetchall``, asyncpg's ``fetch`` with its prepared-statement cache), with the column
types' bind and result conversions applied as SQLAlchemy would (dates on SQLite, enums).

The driver is not told about a transaction SQLAlchemy has not started on it yet (both start one
lazily, at their first statement): a read that comes first in a request runs on its own, with a
snapshot of its own. That suits reads that need no common snapshot with what follows. On a
``Database.driver`` connection there is no session at all, and every statement runs on its own;
a statement that writes, all or nothing, runs through a ``DriverRead`` there too (a seat hold).
"""

from __future__ import annotations

import enum
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Float
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import BindParameter, SelectBase

from kino.core.db import DriverConnection

Convert = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters, in the order the SQL takes them
    defaults: dict[str, Any]  # values bound in the statement itself
    binders: dict[str, Convert]
    readers: tuple[tuple[int, Convert], ...]  # (column, conversion) where one is needed


class DriverError(Exception):
    """An error that PostgreSQL reported for a ``DriverRead``: its SQLSTATE and detail, as
    SQLAlchemy's ``DBAPIError`` carries them for a statement run through a session."""

    def __init__(self, sqlstate: str | None, detail: str) -> None:
        super().__init__(sqlstate, detail)
        self.sqlstate = sqlstate
        self.detail = detail


class DriverRead:
    """A SELECT whose parameters are named ``bindparam``s, run through the driver."""

    def __init__(self, statement: SelectBase) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        keys = list(statement.selected_columns.keys())
        self._record: Any = namedtuple("Record", keys, rename=True)  # type: ignore[misc]

    async def records(self, on: AsyncSession | DriverConnection, **values: Any) -> list[Any]:
        """``rows`` with each row's columns also by name, as the statement labels them."""
        make = self._record._make
        return [make(row) for row in await self.rows(on, **values)]

    async def rows(
        self, on: AsyncSession | DriverConnection, **values: Any
    ) -> list[tuple[Any, ...]]:
        """The rows, read on a session's connection or on a ``Database.driver`` connection."""
        if isinstance(on, AsyncSession):
            connection = await on.connection()
            dialect = connection.dialect
            driver: Any = (await connection.get_raw_connection()).driver_connection
        else:
            dialect, driver = on.dialect, on.driver
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        arguments = []
        for name in compiled.names:
            value = values[name] if name in values else compiled.defaults[name]
            binder = compiled.binders.get(name)
            arguments.append(binder(value) if binder is not None else _plain(value))
        try:
            if dialect.name == "sqlite":
                fetched: Sequence[Any] = await driver.execute_fetchall(compiled.sql, arguments)
            else:
                fetched = await driver.fetch(compiled.sql, *arguments)
        except asyncpg.PostgresError as error:  # the server refused it; the connection is fine
            raise DriverError(error.sqlstate, error.detail or "") from error
        except sqlite3.Error:
            raise
        except BaseException:  # cancelled, or the connection failed: its state is in doubt
            if isinstance(on, DriverConnection):
                on.spoiled = True
            raise
        if not compiled.readers:
            return [tuple(row) for row in fetched]
        rows = []
        for row in fetched:
            columns = list(row)
            for index, read in compiled.readers:
                columns[index] = read(columns[index])
            rows.append(tuple(columns))
        return rows

    def _compile(self, dialect: Dialect) -> _Compiled:
        # Values for the statement's own parameters, so that those SQLAlchemy renders inline
        # (an aggregate's separator) are; the others stay placeholders.
        blanks = {bind.key: None for bind in _required_binds(self.statement)}
        compiled = self.statement.params(blanks).compile(
            dialect=dialect, compile_kwargs={"render_postcompile": True}
        )
        names = tuple(compiled.positiontup or ())
        binders: dict[str, Convert] = {}
        for name in names:
            binder = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if binder is not None:
                binders[name] = binder
        readers = []
        for index, column in enumerate(self.statement.selected_columns):
            if isinstance(column.type, Float):
                continue  # both drivers return floats; asyncpg's processor wants the wire type
            reader = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if reader is not None:
                readers.append((index, reader))
        result = _Compiled(
            compiled.string,
            names,
            {name: bind.value for name, bind in compiled.binds.items()},
            binders,
            tuple(readers),
        )
        self._compiled[dialect.name] = result
        return result


def _required_binds(statement: SelectBase) -> list[BindParameter[Any]]:
    found: list[BindParameter[Any]] = []
    visitors.traverse(statement, {}, {"bindparam": lambda bind: found.append(bind)})
    return [bind for bind in found if bind.required]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
