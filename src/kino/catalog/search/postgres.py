"""Search on PostgreSQL: GIN indexes over tsvector columns that the database generates from the
stored words (``title_words`` for titles, ``all_words`` for titles and credited names)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.search.index import Scope, SqlSearchIndex, WordMatch, _expanding

DELETE_MOVIES = _expanding("DELETE FROM search_movies WHERE movie_id IN :ids", "ids")
DELETE_PEOPLE = _expanding("DELETE FROM search_people WHERE person_id IN :ids", "ids")
CLEAR = "TRUNCATE search_movies, search_people, search_term_keys, search_terms"
ANALYZE = "ANALYZE search_movies, search_people, search_terms, search_term_keys"
COLUMNS = {Scope.TITLE: "title_words", Scope.ALL: "all_words"}
MOVIES_MATCHING = (
    "SELECT m.id FROM search_movies AS s JOIN movies AS m ON m.id = s.movie_id "
    "WHERE s.{column} @@ CAST(:query AS tsquery){status} "
    "ORDER BY m.popularity DESC, m.id DESC LIMIT :limit"
)
PEOPLE_MATCHING = text(
    "SELECT person_id FROM search_people WHERE words @@ CAST(:query AS tsquery) "
    "ORDER BY length(name), person_id LIMIT :limit"
)


class PostgresSearchIndex(SqlSearchIndex):
    dialect = "postgresql"

    async def _movies_stored(self, session: AsyncSession, movie_ids: list[int]) -> None:
        """The tsvector columns are generated: nothing more to do."""

    async def _delete_movies(self, session: AsyncSession, movie_ids: list[int]) -> None:
        await session.execute(DELETE_MOVIES, {"ids": movie_ids})

    async def _people_stored(self, session: AsyncSession, person_ids: list[int]) -> None:
        """The tsvector column is generated: nothing more to do."""

    async def _delete_people(self, session: AsyncSession, person_ids: list[int]) -> None:
        await session.execute(DELETE_PEOPLE, {"ids": person_ids})

    async def _clear(self, session: AsyncSession) -> None:
        await session.execute(text(CLEAR))

    async def _after_rebuild(self, session: AsyncSession) -> None:
        await session.execute(text(ANALYZE))

    async def _match_movies(
        self,
        session: AsyncSession,
        words: list[WordMatch],
        scope: Scope,
        *,
        include_drafts: bool,
        limit: int,
    ) -> list[int]:
        status = "" if include_drafts else " AND m.status = 'published'"
        statement = text(MOVIES_MATCHING.format(column=COLUMNS[scope], status=status))
        parameters = {"query": ts_query(words), "limit": limit}
        return list((await session.scalars(statement, parameters)).all())

    async def _match_people(
        self, session: AsyncSession, words: list[WordMatch], *, limit: int
    ) -> list[int]:
        parameters = {"query": ts_query(words), "limit": limit}
        return list((await session.scalars(PEOPLE_MATCHING, parameters)).all())


def ts_query(words: list[WordMatch]) -> str:
    """A tsquery of quoted lexemes: the words are letters and digits only, so nothing the user
    typed can be read as tsquery syntax."""
    groups = []
    for word in words:
        options = [f"'{word.word}':*" if word.prefix else f"'{word.word}'"]
        options.extend(f"'{alternative}'" for alternative in word.alternatives)
        groups.append(options[0] if len(options) == 1 else f"({' | '.join(options)})")
    return " & ".join(groups)
