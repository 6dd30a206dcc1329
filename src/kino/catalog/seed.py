"""Bulk loading of films into the catalog.

The demo catalog (``sample.py``) and synthetic benchmark catalogs (``synthetic.py``) both arrive
here as ``FilmRecord``s and are written with Core bulk inserts: ``executemany`` on SQLite,
``COPY`` on PostgreSQL. ORM objects one by one would take hours for a million films.

Loading is idempotent: a film whose ``external_id`` is already in the catalog is skipped, so a
re-run adds only what is missing. Films are written in batches, each batch one transaction (a
million films survive an interruption half-way); the search index is rebuilt in the transaction
that writes the last batch, so the index never misses committed films for long.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import Column, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kino.catalog.models import (
    Access,
    Credit,
    CreditRole,
    Genre,
    Movie,
    MovieCountry,
    MovieLanguage,
    MovieStatus,
    Person,
    movie_genres,
)
from kino.catalog.naming import SlugAllocator, sort_title
from kino.catalog.search import SearchIndex
from kino.core.db import Base, Database, utcnow

Row = tuple[Any, ...]
Progress = Callable[["SeedReport"], None]
# Given the external ids already in the catalog, the films a source offers (it may skip the
# known ones itself, when that is cheaper than describing them).
FilmSource = Callable[[Set[str]], Iterable["FilmRecord"]]

MOVIE_COLUMNS = (
    "id",
    "slug",
    "title",
    "sort_title",
    "year",
    "release_date",
    "runtime_minutes",
    "age_rating",
    "status",
    "access",
    "popularity",
    "rating_count",
    "external_id",
    "created_at",
    "updated_at",
)
PERSON_COLUMNS = ("id", "name", "slug", "created_at", "updated_at")
CREDIT_COLUMNS = ("movie_id", "person_id", "role", "position")
PLACE_COLUMNS = ("movie_id", "name", "position")
SQLITE_CACHE_KIB = 256 * 1024
# Plain strings: rows bypass the ORM and its enum conversion.
DIRECTOR, WRITER, ACTOR = CreditRole.DIRECTOR.value, CreditRole.WRITER.value, CreditRole.ACTOR.value
PUBLISHED, FREE = MovieStatus.PUBLISHED.value, Access.FREE.value


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


MOVIES, PEOPLE, GENRES = _table(Movie), _table(Person), _table(Genre)


@dataclass(frozen=True, slots=True)
class FilmRecord:
    """A film as a source describes it: names, not ids."""

    external_id: str
    title: str
    year: int | None = None
    release_date: date | None = None
    runtime_minutes: int | None = None
    age_rating: str | None = None
    popularity: int = 0
    genres: Sequence[str] = ()
    countries: Sequence[str] = ()
    languages: Sequence[str] = ()
    directors: Sequence[str] = ()
    writers: Sequence[str] = ()
    cast: Sequence[str] = ()

    def credits(self) -> Iterator[tuple[str, int, str]]:
        """(role, position, name) in source order; a name repeated in one role counts once."""
        for role, names in (
            (DIRECTOR, self.directors),
            (WRITER, self.writers),
            (ACTOR, self.cast),
        ):
            for position, name in enumerate(dict.fromkeys(names)):
                yield role, position, name


@dataclass
class SeedReport:
    films: int = 0
    people: int = 0
    credits: int = 0
    skipped: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"Added {self.films:,} films, {self.people:,} people and {self.credits:,} credits "
            f"({self.skipped:,} films already there) in {self.seconds:.1f} s."
        )


async def load_films(
    db: Database,
    source: FilmSource,
    *,
    batch_size: int = 25_000,
    search_index: SearchIndex | None = None,
    progress: Progress | None = None,
) -> SeedReport:
    """Add the films that are not in the catalog yet, with their genres, countries, languages,
    people and credits."""
    started = time.perf_counter()
    report = SeedReport()
    async with db.transaction() as session:
        known = await _external_ids(await session.connection())
    batches = _batches(_skip_known(source(known), known, report), batch_size)
    batch = await _next_batch(batches)
    if batch is not None:
        async with db.transaction() as session:
            catalog = await _CatalogState.load(await session.connection())
    while batch is not None:
        # The source makes the next batch in a thread while this one is written: SQLite and
        # PostgreSQL do their part without holding the GIL.
        upcoming = asyncio.ensure_future(_next_batch(batches))
        try:
            async with db.transaction() as session:
                await _write_batch(await session.connection(), catalog, batch, report)
                batch = await upcoming
                if batch is None:
                    await _finish(session, search_index)
        finally:
            upcoming.cancel()
        report.seconds = time.perf_counter() - started
        if progress is not None:
            progress(report)
    if report.films and db.dialect == "postgresql":
        await _vacuum(db)
    report.seconds = time.perf_counter() - started
    return report


async def _vacuum(db: Database) -> None:
    """Marks the new rows' pages all-visible, which PostgreSQL's autovacuum does only later (or,
    where it is off, never): until then an index-only scan still reads the table's page of every
    row it finds (a year range's count on the sample catalog: 4.9 ms before, 2.1 ms after)."""
    async with db.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM (ANALYZE)"))


async def _next_batch(batches: Iterator[list[FilmRecord]]) -> list[FilmRecord] | None:
    return await asyncio.to_thread(next, batches, None)


def _skip_known(
    films: Iterable[FilmRecord], known: set[str], report: SeedReport
) -> Iterator[FilmRecord]:
    for film in films:
        if film.external_id in known:
            report.skipped += 1
        else:
            known.add(film.external_id)  # a source that repeats an id yields it once
            yield film


def _batches(films: Iterator[FilmRecord], size: int) -> Iterator[list[FilmRecord]]:
    while batch := list(itertools.islice(films, size)):
        yield batch


async def _external_ids(connection: AsyncConnection) -> set[str]:
    query = select(Movie.external_id).where(Movie.external_id.is_not(None))
    return set(cast("Iterable[str]", await connection.scalars(query)))


@dataclass
class _CatalogState:
    """What the loader must know of the catalog already there: ids by name, taken slugs."""

    genre_ids: dict[str, int]
    genre_slugs: SlugAllocator
    person_ids: dict[str, int]
    person_slugs: SlugAllocator
    movie_slugs: SlugAllocator

    @classmethod
    async def load(cls, connection: AsyncConnection) -> _CatalogState:
        genres = (await connection.execute(select(Genre.name, Genre.id, Genre.slug))).all()
        people_query = select(Person.name, Person.id, Person.slug).order_by(Person.id)
        people = (await connection.execute(people_query)).all()
        person_ids: dict[str, int] = {}
        for name, person_id, _slug in people:
            person_ids.setdefault(name, person_id)  # the oldest of namesakes
        return cls(
            genre_ids={name: genre_id for name, genre_id, _slug in genres},
            genre_slugs=SlugAllocator(slug for _name, _id, slug in genres),
            person_ids=person_ids,
            person_slugs=SlugAllocator(slug for _name, _id, slug in people),
            movie_slugs=SlugAllocator((await connection.scalars(select(Movie.slug))).all()),
        )


@dataclass
class _BatchRows:
    """The rows of one batch, table by table, with values as the database takes them."""

    stamp: Any  # created_at and updated_at of every row in the batch
    to_date: Callable[[date], Any]
    genres: list[Row] = field(default_factory=list)
    people: list[Row] = field(default_factory=list)
    movies: list[Row] = field(default_factory=list)
    movie_genres: list[Row] = field(default_factory=list)
    countries: list[Row] = field(default_factory=list)
    languages: list[Row] = field(default_factory=list)
    credits: list[Row] = field(default_factory=list)


async def _write_batch(
    connection: AsyncConnection,
    catalog: _CatalogState,
    films: list[FilmRecord],
    report: SeedReport,
) -> None:
    writer = bulk_writer(connection)
    await writer.prepare()
    rows = _BatchRows(
        stamp=writer.converter(MOVIES.c.created_at)(utcnow()),
        to_date=writer.converter(MOVIES.c.release_date),
    )
    await _add_genres(writer, catalog, films, rows)
    await _add_people(writer, catalog, films, rows)
    movie_ids = await writer.reserve_ids(MOVIES, len(films))
    for movie_id, film in zip(movie_ids, films, strict=True):
        _add_film(catalog, rows, movie_id, film)
    await writer.insert(GENRES, ("id", "name", "slug"), rows.genres)
    await writer.insert(PEOPLE, PERSON_COLUMNS, rows.people)
    await writer.insert(MOVIES, MOVIE_COLUMNS, rows.movies)
    await writer.insert(movie_genres, ("movie_id", "genre_id"), rows.movie_genres)
    await writer.insert(_table(MovieCountry), PLACE_COLUMNS, rows.countries)
    await writer.insert(_table(MovieLanguage), PLACE_COLUMNS, rows.languages)
    await writer.insert(_table(Credit), CREDIT_COLUMNS, rows.credits)
    report.films += len(rows.movies)
    report.people += len(rows.people)
    report.credits += len(rows.credits)


async def _add_genres(
    writer: BulkWriter, catalog: _CatalogState, films: list[FilmRecord], rows: _BatchRows
) -> None:
    names = _new_names((film.genres for film in films), catalog.genre_ids)
    ids = await writer.reserve_ids(GENRES, len(names))
    for genre_id, name in zip(ids, names, strict=True):
        catalog.genre_ids[name] = genre_id
        rows.genres.append((genre_id, name, catalog.genre_slugs.allocate(name)))


async def _add_people(
    writer: BulkWriter, catalog: _CatalogState, films: list[FilmRecord], rows: _BatchRows
) -> None:
    credited = ((name for _role, _position, name in film.credits()) for film in films)
    names = _new_names(credited, catalog.person_ids)
    ids = await writer.reserve_ids(PEOPLE, len(names))
    stamp = rows.stamp
    for person_id, name in zip(ids, names, strict=True):
        catalog.person_ids[name] = person_id
        rows.people.append((person_id, name, catalog.person_slugs.allocate(name), stamp, stamp))


def _new_names(groups: Iterable[Iterable[str]], known: dict[str, int]) -> list[str]:
    """Names not in ``known``, once each, in order of first mention."""
    return list(dict.fromkeys(name for names in groups for name in names if name not in known))


def _add_film(catalog: _CatalogState, rows: _BatchRows, movie_id: int, film: FilmRecord) -> None:
    release_date = None if film.release_date is None else rows.to_date(film.release_date)
    rows.movies.append(
        (
            movie_id,
            catalog.movie_slugs.allocate(film.title, year=film.year),
            film.title,
            sort_title(film.title),
            film.year,
            release_date,
            film.runtime_minutes,
            film.age_rating,
            PUBLISHED,
            FREE,
            film.popularity,
            0,
            film.external_id,
            rows.stamp,
            rows.stamp,
        )
    )
    for genre in dict.fromkeys(film.genres):
        rows.movie_genres.append((movie_id, catalog.genre_ids[genre]))
    for position, country in enumerate(dict.fromkeys(film.countries)):
        rows.countries.append((movie_id, country, position))
    for position, language in enumerate(dict.fromkeys(film.languages)):
        rows.languages.append((movie_id, language, position))
    person_ids = catalog.person_ids
    for role, position, name in film.credits():
        rows.credits.append((movie_id, person_ids[name], role, position))


async def _finish(session: AsyncSession, search_index: SearchIndex | None) -> None:
    """After the last batch: rebuild the search index and refresh the planner's statistics."""
    if search_index is None:
        from kino.catalog.search import search_index_for

        search_index = search_index_for(session.get_bind().dialect.name)
    await search_index.rebuild(session)
    await session.execute(text("ANALYZE"))


class BulkWriter:
    """Writes many rows of one table at once, the fastest way the database offers."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def prepare(self) -> None:
        """Ready the connection for a batch."""

    def converter(self, column: Column[Any]) -> Callable[[Any], Any]:
        """What turns a Python value of ``column`` into what ``insert`` takes."""
        return _unchanged

    async def reserve_ids(self, table: Table, count: int) -> list[int]:
        raise NotImplementedError

    async def insert(self, table: Table, columns: Sequence[str], rows: list[Row]) -> None:
        raise NotImplementedError


def _unchanged(value: Any) -> Any:
    return value


class SQLiteBulkWriter(BulkWriter):
    """``executemany`` inside the caller's transaction. SQLite has one writer at a time, so the
    next ids are simply the ones after the largest."""

    async def prepare(self) -> None:
        # Index pages stay in memory across the batch: about twice as fast as the 2 MB default
        # once the indexes outgrow it. A ceiling, not an allocation.
        await self.connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")

    def converter(self, column: Column[Any]) -> Callable[[Any], Any]:
        # Dates and timestamps are text in SQLite: stored exactly as SQLAlchemy stores them, so
        # the ORM reads them back.
        dialect = self.connection.dialect
        return column.type.dialect_impl(dialect).bind_processor(dialect) or _unchanged

    async def reserve_ids(self, table: Table, count: int) -> list[int]:
        if count == 0:
            return []
        largest = await self.connection.scalar(select(func.max(table.c.id)))
        first = int(largest or 0) + 1
        return list(range(first, first + count))

    async def insert(self, table: Table, columns: Sequence[str], rows: list[Row]) -> None:
        if rows:
            marks = ", ".join("?" for _ in columns)
            sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({marks})'
            await self.connection.exec_driver_sql(sql, rows)


class PostgresBulkWriter(BulkWriter):
    """``COPY`` through asyncpg inside the caller's transaction; ids come from the table's
    sequence, so concurrent writers never collide with a seed."""

    async def reserve_ids(self, table: Table, count: int) -> list[int]:
        if count == 0:
            return []
        query = text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
        )
        result = await self.connection.scalars(query, {"table": table.name, "count": count})
        return [int(value) for value in result]

    async def insert(self, table: Table, columns: Sequence[str], rows: list[Row]) -> None:
        if not rows:
            return
        raw = await self.connection.get_raw_connection()
        driver: Any = raw.driver_connection
        if not driver.is_in_transaction():
            # COPY outside the session's transaction would commit on its own.
            raise RuntimeError("bulk insert outside a transaction")
        await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))


def bulk_writer(connection: AsyncConnection) -> BulkWriter:
    if connection.dialect.name == "postgresql":
        return PostgresBulkWriter(connection)
    return SQLiteBulkWriter(connection)
