"""Search on SQLite: FTS5 external-content tables over ``search_movies`` and ``search_people``.

FTS5 does not watch its content table, so every change to a search row goes through here: the
index is told of a row after it is written and before it is deleted (with the values it was
indexed with), and a rebuild loads the content tables first and indexes them in one pass.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.search.index import Scope, SqlSearchIndex, WordMatch, _expanding

INDEX_MOVIES = _expanding(
    "INSERT INTO search_movies_fts (rowid, title, original_title, people) "
    "SELECT movie_id, title, original_title, people FROM search_movies WHERE movie_id IN :ids",
    "ids",
)
UNINDEX_MOVIES = _expanding(
    "INSERT INTO search_movies_fts (search_movies_fts, rowid, title, original_title, people) "
    "SELECT 'delete', movie_id, title, original_title, people FROM search_movies "
    "WHERE movie_id IN :ids",
    "ids",
)
DELETE_MOVIES = _expanding("DELETE FROM search_movies WHERE movie_id IN :ids", "ids")
INDEX_PEOPLE = _expanding(
    "INSERT INTO search_people_fts (rowid, name) "
    "SELECT person_id, name FROM search_people WHERE person_id IN :ids",
    "ids",
)
UNINDEX_PEOPLE = _expanding(
    "INSERT INTO search_people_fts (search_people_fts, rowid, name) "
    "SELECT 'delete', person_id, name FROM search_people WHERE person_id IN :ids",
    "ids",
)
DELETE_PEOPLE = _expanding("DELETE FROM search_people WHERE person_id IN :ids", "ids")
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
MOVIES_MATCHING = (
    "SELECT m.id FROM search_movies_fts JOIN movies AS m ON m.id = search_movies_fts.rowid "
    "WHERE search_movies_fts MATCH :match{status} "
    "ORDER BY m.popularity DESC, m.id DESC LIMIT :limit"
)
PEOPLE_MATCHING = text(
    "SELECT p.person_id FROM search_people_fts "
    "JOIN search_people AS p ON p.person_id = search_people_fts.rowid "
    "WHERE search_people_fts MATCH :match "
    "ORDER BY length(p.name), p.person_id LIMIT :limit"
)


class SqliteSearchIndex(SqlSearchIndex):
    dialect = "sqlite"

    async def _movies_stored(self, session: AsyncSession, movie_ids: list[int]) -> None:
        await session.execute(INDEX_MOVIES, {"ids": movie_ids})

    async def _delete_movies(self, session: AsyncSession, movie_ids: list[int]) -> None:
        await session.execute(UNINDEX_MOVIES, {"ids": movie_ids})
        await session.execute(DELETE_MOVIES, {"ids": movie_ids})

    async def _people_stored(self, session: AsyncSession, person_ids: list[int]) -> None:
        await session.execute(INDEX_PEOPLE, {"ids": person_ids})

    async def _delete_people(self, session: AsyncSession, person_ids: list[int]) -> None:
        await session.execute(UNINDEX_PEOPLE, {"ids": person_ids})
        await session.execute(DELETE_PEOPLE, {"ids": person_ids})

    async def _clear(self, session: AsyncSession) -> None:
        for statement in CLEAR:
            await session.execute(text(statement))

    async def _after_rebuild(self, session: AsyncSession) -> None:
        for statement in REINDEX:
            await session.execute(text(statement))

    async def _match_movies(
        self,
        session: AsyncSession,
        words: list[WordMatch],
        scope: Scope,
        *,
        include_drafts: bool,
        limit: int,
    ) -> list[int]:
        match = fts_query(words)
        if scope is Scope.TITLE:
            match = f"{TITLE_COLUMNS} : ({match})"
        status = "" if include_drafts else " AND m.status = 'published'"
        statement = text(MOVIES_MATCHING.format(status=status))
        return list((await session.scalars(statement, {"match": match, "limit": limit})).all())

    async def _match_people(
        self, session: AsyncSession, words: list[WordMatch], *, limit: int
    ) -> list[int]:
        parameters = {"match": fts_query(words), "limit": limit}
        return list((await session.scalars(PEOPLE_MATCHING, parameters)).all())


def fts_query(words: list[WordMatch]) -> str:
    """An FTS5 query in which every word is a quoted string: nothing the user typed can be read
    as syntax (the words are letters and digits only, and carry no quote)."""
    groups = []
    for word in words:
        options = [f'"{word.word}"*' if word.prefix else f'"{word.word}"']
        options.extend(f'"{alternative}"' for alternative in word.alternatives)
        groups.append(options[0] if len(options) == 1 else f"({' OR '.join(options)})")
    return " AND ".join(groups)
