"""The demo catalog: 17,472 films from the CC0 OMDb extract in the ``bokeh-sampledata`` package,
with their genres, countries, languages, directors, writers and cast."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date
from importlib import resources
from pathlib import Path

from kino.catalog.search import SearchIndex
from kino.catalog.seed import FilmRecord, SeedReport, load_films
from kino.core.db import Database

SAMPLE_FILMS = 17_472
# Popularity: IMDb votes, which this extract leaves empty for every film, so in practice the
# number of critics' reviews Rotten Tomatoes counted (Skyfall 388, a festival short 1).
_QUERY = """
    SELECT omdb.ID, imdbID, Title, Year, omdb.Rating, Runtime, Genre, Released,
           Director, Writer, "Cast", Language, Country,
           coalesce(imdbVotes, tomatoes.Reviews, 0)
    FROM omdb LEFT JOIN tomatoes ON tomatoes.ID = omdb.ID
    ORDER BY omdb.ID
"""
_SourceRow = tuple[
    int, str, str, int | None, str | None, float | None, str | None, str | None,
    str | None, str | None, str | None, str | None, str | None, int,
]  # fmt: skip


async def seed_sample(
    db: Database,
    *,
    limit: int | None = None,
    search_index: SearchIndex | None = None,
    progress: Callable[[SeedReport], None] | None = None,
) -> SeedReport:
    """Import the demo catalog (its first ``limit`` films, in source order, when given).
    Films already imported are skipped, so a second run adds nothing."""
    return await load_films(
        db,
        lambda _known: read_sample_films(limit=limit),
        search_index=search_index,
        progress=progress,
    )


def read_sample_films(*, limit: int | None = None) -> Iterator[FilmRecord]:
    """The demo films in source order (by the source's row id), the first ``limit`` when given."""
    with (
        resources.as_file(resources.files("bokeh_sampledata") / "_data" / "movies.db") as path,
        closing(_open_read_only(path)) as source,
    ):
        rows: list[_SourceRow] = source.execute(
            _QUERY + " LIMIT ?", (-1 if limit is None else limit,)
        ).fetchall()
    seen_ids: set[str] = set()
    for row in rows:
        film = _film_from_row(row, seen_ids)
        seen_ids.add(row[1])
        yield film


def _open_read_only(path: Path) -> sqlite3.Connection:
    # immutable: the file sits in site-packages, perhaps read-only; never write a journal there.
    return sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)


def _film_from_row(row: _SourceRow, seen_ids: set[str]) -> FilmRecord:
    (row_id, imdb_id, title, year, mpaa, runtime, genres, released) = row[:8]
    (directors, writers, cast, languages, countries, popularity) = row[8:]
    return FilmRecord(
        # Two IMDb ids are shared by two films each (Apocalypse Now and its Redux): the later
        # row keeps the id with the source's row number appended, so both films are imported.
        external_id=imdb_id if imdb_id not in seen_ids else f"{imdb_id}-{row_id}",
        title=title.strip(),
        year=year,
        release_date=_release_date(released),
        runtime_minutes=round(runtime) if runtime else None,
        age_rating=mpaa or None,
        popularity=popularity,
        genres=split_names(genres),
        countries=split_names(countries),
        languages=split_names(languages),
        directors=split_names(directors),
        writers=split_names(writers),
        cast=split_names(cast),
    )


def _release_date(released: str | None) -> date | None:
    """The source writes 1 January when it knows only the year (11,468 of its films, against
    about 55 for any other day): that is no release date."""
    if not released:
        return None
    day = date.fromisoformat(released)
    return None if (day.month, day.day) == (1, 1) else day


def split_names(listing: str | None) -> tuple[str, ...]:
    """ "A, B (b, c), C" → ("A", "B (b, c)", "C"): commas inside parentheses do not split."""
    if not listing:
        return ()
    if "(" not in listing:
        return tuple(stripped for name in listing.split(",") if (stripped := name.strip()))
    names: list[str] = []
    depth = 0
    current: list[str] = []
    for char in listing:
        if char == "," and depth == 0:
            names.append("".join(current))
            current = []
            continue
        depth = max(0, depth + (char == "(") - (char == ")"))
        current.append(char)
    names.append("".join(current))
    return tuple(stripped for name in names if (stripped := name.strip()))
