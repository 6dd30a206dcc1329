"""Search on SQLite: FTS5 external-content tables over ``search_movies`` and ``search_people``.

The FTS rowid is the document's ``doc_id``, so FTS5 returns matches most prominent first and a
query stops reading at its limit. FTS5 does not watch its content tables: the index is told of
a row after it is written and before it is deleted (with the values it was indexed with), and a
rebuild loads the content tables first and indexes them in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.search.index import Arm, Scope, SqlSearchIndex, Terms, WordMatch, movies_join
from kino.catalog.search.vocabulary import expanding

INDEX_MOVIES = expanding(
    "INSERT INTO search_movies_fts (rowid, title, original_title, people) "
    "SELECT doc_id, title, original_title, people FROM search_movies WHERE movie_id IN :ids",
    "ids",
)
UNINDEX_MOVIES = expanding(
    "INSERT INTO search_movies_fts (search_movies_fts, rowid, title, original_title, people) "
    "SELECT 'delete', doc_id, title, original_title, people FROM search_movies "
    "WHERE movie_id IN :ids",
    "ids",
)
DELETE_MOVIES = expanding("DELETE FROM search_movies WHERE movie_id IN :ids", "ids")
INDEX_PEOPLE = expanding(
    "INSERT INTO search_people_fts (rowid, name) "
    "SELECT doc_id, name FROM search_people WHERE person_id IN :ids",
    "ids",
)
UNINDEX_PEOPLE = expanding(
    "INSERT INTO search_people_fts (search_people_fts, rowid, name) "
    "SELECT 'delete', doc_id, name FROM search_people WHERE person_id IN :ids",
    "ids",
)
DELETE_PEOPLE = expanding("DELETE FROM search_people WHERE person_id IN :ids", "ids")
CLEAR = (
    "DELETE FROM search_movies",
    "DELETE FROM search_people",
    "DELETE FROM search_term_keys",
    "DELETE FROM search_terms",
)
REINDEX = (
    "INSERT INTO search_movies_fts (search_movies_fts) VALUES ('rebuild')",
    "INSERT INTO search_people_fts (search_people_fts) VALUES ('rebuild')",
    "ANALYZE search_movies",
    "ANALYZE search_people",
    "ANALYZE search_terms",
    "ANALYZE search_term_keys",
)
TITLE_COLUMNS = "{title original_title}"
_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
TEXTS = {
    Scope.TITLE: "(' ' || s.title || ' ' || s.original_title || ' ')",
    Scope.ALL: "(' ' || s.title || ' ' || s.original_title || ' ' || s.people || ' ')",
}


class SqliteSearchIndex(SqlSearchIndex):
    # Rows counted by the last ANALYZE (a rebuild runs one; the migration a first).
    documents_sql = (
        "SELECT (SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 "
        "WHERE idx = 'ix_search_movies_title_key') AS movies, "
        "(SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 "
        "WHERE idx = 'ix_search_people_name_key') AS people"
    )

    def __init__(self, *, eager_shortcuts: bool = False) -> None:
        self.eager_shortcuts = eager_shortcuts

    async def _fetch(
        self, session: AsyncSession, sql: str, parameters: dict[str, Any]
    ) -> Sequence[Sequence[Any]]:
        raw = await (await session.connection()).get_raw_connection()
        driver: Any = raw.driver_connection  # aiosqlite: one hop to its thread per statement
        values: dict[str, Any] = {}

        def bind(name: re.Match[str]) -> str:
            value = parameters[name[1]]
            if not isinstance(value, list | tuple):
                values[name[1]] = value
                return name[0]
            names = [f"{name[1]}__{number}" for number in range(len(value))]
            values.update(zip(names, value, strict=True))
            return f"({', '.join(f':{each}' for each in names) or 'NULL'})"

        rows: Sequence[Sequence[Any]] = await driver.execute_fetchall(
            _PARAMETER.sub(bind, sql), values
        )
        return rows

    async def _write_rows(
        self,
        session: AsyncSession,
        table: str,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
    ) -> None:
        if rows:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            await (await session.connection()).exec_driver_sql(sql, rows)

    async def _movies_stored(self, session: AsyncSession, movie_ids: list[int]) -> None:
        if movie_ids:
            await session.execute(INDEX_MOVIES, {"ids": movie_ids})

    async def _delete_movies(self, session: AsyncSession, movie_ids: list[int]) -> None:
        await session.execute(UNINDEX_MOVIES, {"ids": movie_ids})
        await session.execute(DELETE_MOVIES, {"ids": movie_ids})

    async def _people_stored(self, session: AsyncSession, person_ids: list[int]) -> None:
        if person_ids:
            await session.execute(INDEX_PEOPLE, {"ids": person_ids})

    async def _delete_people(self, session: AsyncSession, person_ids: list[int]) -> None:
        await session.execute(UNINDEX_PEOPLE, {"ids": person_ids})
        await session.execute(DELETE_PEOPLE, {"ids": person_ids})

    async def _before_rebuild(self, session: AsyncSession) -> list[str]:
        for statement in CLEAR:
            await session.execute(text(statement))
        return list(REINDEX)

    def _movies_matching(
        self, words: Terms, scope: Scope, include_drafts: bool, limit: int, tag: str
    ) -> Arm:
        match = fts_query(words.matched)
        if scope is Scope.TITLE:
            match = f"{TITLE_COLUMNS} : ({match})"
        checks, parameters = _checks(words.checked, TEXTS[scope], tag)
        sql = (
            "SELECT s.movie_id AS id, s.doc_id AS rank FROM search_movies_fts "
            "JOIN search_movies AS s ON s.doc_id = search_movies_fts.rowid "
            f"{movies_join(include_drafts, 's')} "
            f"WHERE search_movies_fts MATCH :match_{tag}{checks} "
            f"ORDER BY search_movies_fts.rowid LIMIT :limit_{tag}"
        )
        return Arm(sql, {f"match_{tag}": match, f"limit_{tag}": limit, **parameters})

    def _people_matching(self, words: Terms, limit: int, tag: str) -> Arm:
        checks, parameters = _checks(words.checked, "(' ' || p.name || ' ')", tag)
        sql = (
            "SELECT p.person_id AS id, p.doc_id AS rank FROM search_people_fts "
            "JOIN search_people AS p ON p.doc_id = search_people_fts.rowid "
            f"WHERE search_people_fts MATCH :match_{tag}{checks} "
            f"ORDER BY search_people_fts.rowid LIMIT :limit_{tag}"
        )
        match = fts_query(words.matched)
        return Arm(sql, {f"match_{tag}": match, f"limit_{tag}": limit, **parameters})


def _checks(words: list[WordMatch], text_: str, tag: str) -> tuple[str, dict[str, str]]:
    """SQL that holds when ``text_`` (space-padded words) has each word (or an alternative);
    the word being typed may begin a longer one. FTS5 reads every entry of a common word to
    intersect it with the others; a check on the few rows the rarer words leave is cheaper."""
    clauses: list[str] = []
    parameters: dict[str, str] = {}
    for number, word in enumerate(words):
        options = [f" {word.word} " if not word.prefix else f" {word.word}"]
        options += [f" {alternative} " for alternative in word.alternatives]
        names = [f"word_{tag}_{number}_{option}" for option in range(len(options))]
        parameters.update(zip(names, options, strict=True))
        clauses.append(" OR ".join(f"instr({text_}, :{name}) > 0" for name in names))
    return "".join(f" AND ({clause})" for clause in clauses), parameters


def fts_query(words: list[WordMatch]) -> str:
    """An FTS5 query in which every word is a quoted string: nothing the user typed can be read
    as syntax (the words are letters and digits only, and carry no quote)."""
    groups = []
    for word in words:
        options = [f'"{word.word}"*' if word.prefix else f'"{word.word}"']
        options.extend(f'"{alternative}"' for alternative in word.alternatives)
        groups.append(options[0] if len(options) == 1 else f"({' OR '.join(options)})")
    return " AND ".join(groups)
