"""Search on PostgreSQL: GIN indexes over tsvector columns that the database generates from the
stored words (``title_words`` for titles, ``all_words`` for titles and credited names).

A GIN index finds matches in physical order, not in prominence order, so a query first reads
the most prominent documents in doc_id order (a short, bounded walk) and keeps those that match;
only when they are too few does it take every match from the GIN index and sort them, which is
cheap exactly then, as the query is a selective one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.search.index import Arm, Scope, SqlSearchIndex, Terms, WordMatch, movies_join
from kino.catalog.search.vocabulary import expanding

MAX_WALK = 20_000  # the most documents a query walks before it asks the GIN index
# Fetching a row the GIN index found costs about this many rows read by a walk (measured:
# ~2 µs against ~0.7 µs).
FETCH_COST = 3
DELETE_MOVIES = expanding("DELETE FROM search_movies WHERE movie_id IN :ids", "ids")
DELETE_PEOPLE = expanding("DELETE FROM search_people WHERE person_id IN :ids", "ids")
CLEAR = "TRUNCATE search_movies, search_people, search_term_keys, search_terms"
GIN_INDEXES = (
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
    "AND tablename IN ('search_movies', 'search_people') AND indexdef LIKE '% USING gin %'"
)
# Rows in doc_id order on disk make the walk over the most prominent documents sequential.
REORDER = (
    "CLUSTER search_movies USING uq_search_movies_doc_id",
    "CLUSTER search_people USING uq_search_people_doc_id",
)
ANALYZE = "ANALYZE search_movies, search_people, search_terms, search_term_keys"
COLUMNS = {Scope.TITLE: "title_words", Scope.ALL: "all_words"}
_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class PostgresSearchIndex(SqlSearchIndex):
    tiers_in_one_statement = False  # a tier costs more than a round trip: stop when full

    # Rows counted by the last ANALYZE or VACUUM (autovacuum keeps it near the truth).
    documents_sql = (
        "SELECT (SELECT CAST(greatest(reltuples, 0) AS BIGINT) FROM pg_class "
        "WHERE oid = to_regclass('search_movies')) AS movies, "
        "(SELECT CAST(greatest(reltuples, 0) AS BIGINT) FROM pg_class "
        "WHERE oid = to_regclass('search_people')) AS people"
    )

    def __init__(self, *, eager_shortcuts: bool = False) -> None:
        self.eager_shortcuts = eager_shortcuts

    def _walk(self, words: Terms, limit: int) -> int:
        """How many of the most prominent documents to walk before asking the GIN index: twice
        as many as should hold ``limit`` matches, when reading them costs less than fetching
        what the GIN index would return; else 0 (ask it at once)."""
        if self.eager_shortcuts:
            return 3
        walk = max(math.ceil(2 * limit * words.total / max(words.estimate, 0.5)), 50)
        cheaper = walk < FETCH_COST * words.matched_estimate
        return walk if walk <= MAX_WALK and cheaper else 0

    async def _fetch(
        self, session: AsyncSession, sql: str, parameters: dict[str, Any]
    ) -> Sequence[Sequence[Any]]:
        raw = await (await session.connection()).get_raw_connection()
        driver: Any = raw.driver_connection  # asyncpg: prepared once per connection, then cached
        positions: dict[str, str] = {}
        values: list[Any] = []

        def bind(name: re.Match[str]) -> str:
            if name[1] not in positions:
                value = parameters[name[1]]
                items = list(value) if isinstance(value, list | tuple) else [value]
                marks = [f"${len(values) + number + 1}" for number in range(len(items))]
                values.extend(items)
                listed = f"({', '.join(marks) or 'NULL'})"
                positions[name[1]] = listed if isinstance(value, list | tuple) else marks[0]
            return positions[name[1]]

        rows: Sequence[Sequence[Any]] = await driver.fetch(_PARAMETER.sub(bind, sql), *values)
        return rows

    async def _write_rows(
        self,
        session: AsyncSession,
        table: str,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """COPY, on the session's connection and so in its transaction."""
        if rows:
            raw = await (await session.connection()).get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.copy_records_to_table(table, records=rows, columns=list(columns))

    async def _movies_stored(self, session: AsyncSession, movie_ids: list[int]) -> None:
        """The tsvector columns are generated: nothing more to do."""

    async def _delete_movies(self, session: AsyncSession, movie_ids: list[int]) -> None:
        await session.execute(DELETE_MOVIES, {"ids": movie_ids})

    async def _people_stored(self, session: AsyncSession, person_ids: list[int]) -> None:
        """The tsvector column is generated: nothing more to do."""

    async def _delete_people(self, session: AsyncSession, person_ids: list[int]) -> None:
        await session.execute(DELETE_PEOPLE, {"ids": person_ids})

    async def _before_rebuild(self, session: AsyncSession) -> list[str]:
        """Empties the tables and drops their GIN indexes: building one over loaded rows is
        many times faster than inserting the rows into it one by one."""
        await session.execute(text(CLEAR))
        indexes = (await session.execute(text(GIN_INDEXES))).all()
        for name, _definition in indexes:
            await session.execute(text(f'DROP INDEX "{name}"'))
        return [*REORDER, *(definition for _name, definition in indexes), ANALYZE]

    def _movies_matching(
        self, words: Terms, scope: Scope, include_drafts: bool, limit: int, tag: str
    ) -> Arm:
        return _matching(
            table="search_movies",
            id_column="movie_id",
            words_column=COLUMNS[scope],
            join=lambda alias: movies_join(include_drafts, alias),
            words=words,
            limit=limit,
            tag=tag,
            walk=self._walk(words, limit),
        )

    def _people_matching(self, words: Terms, limit: int, tag: str) -> Arm:
        return _matching(
            table="search_people",
            id_column="person_id",
            words_column="words",
            join=lambda _alias: "",
            words=words,
            limit=limit,
            tag=tag,
            walk=self._walk(words, limit),
        )


def _matching(
    *,
    table: str,
    id_column: str,
    words_column: str,
    join: Callable[[str], str],
    words: Terms,
    limit: int,
    tag: str,
    walk: int,
) -> Arm:
    """Documents of ``table`` holding ``words``, in doc_id order.

    A common query walks the first ``walk`` documents and keeps those that match; when they
    are too few, the walk goes on, four times as far; only when those are still too few does it
    take the rest of the matches from the GIN index and sort them (a CTE is computed when first
    read, and a UNION ALL under a LIMIT stops reading its parts once it has enough). A rarer
    query (``walk`` 0) takes every match from the GIN index at once.

    The GIN index looks up only the matched words; the common ones are checked on the rows it
    returns, by ``ts_match_vq`` (``@@`` as a function, which the planner does not hand to the
    index)."""
    query = f"CAST(CAST(:query_{tag} AS TEXT) AS tsquery)"
    condition = f"{words_column} @@ CAST(CAST(:matched_{tag} AS TEXT) AS tsquery)"
    if words.checked:
        condition += f" AND ts_match_vq({words_column}, {query})"
    hits = f"WITH hits AS MATERIALIZED (SELECT {id_column}, doc_id FROM {table} WHERE {condition}) "
    parameters = {
        f"query_{tag}": ts_query(words.all_words),
        f"matched_{tag}": ts_query(words.matched),
        f"limit_{tag}": limit,
    }
    if not walk:
        sql = f"{hits}{_sorted_hits(id_column, join, '')} LIMIT :limit_{tag}"
        return Arm(sql, parameters)
    # When the first walk finds too few, a longer one (the estimate may be wrong), then the rest.
    further = min(4 * walk, MAX_WALK)
    stages = [(0, walk), (walk, further - walk)] if further > walk else [(0, walk)]
    walks = [
        f"(SELECT top.{id_column} AS id, top.doc_id AS rank FROM ("
        f"SELECT {id_column}, doc_id, {words_column} AS words FROM {table} "
        f"ORDER BY doc_id OFFSET {offset} LIMIT {length}) AS top {join('top')} "
        f"WHERE top.words @@ {query} ORDER BY top.doc_id)"
        for offset, length in stages
    ]
    beyond = (
        f"WHERE doc_id > (SELECT max(doc_id) FROM "
        f"(SELECT doc_id FROM {table} ORDER BY doc_id LIMIT {max(walk, further)}) AS walked)"
    )
    sql = (
        f"{hits}{' UNION ALL '.join(walks)} "
        f"UNION ALL ({_sorted_hits(id_column, join, beyond)}) LIMIT :limit_{tag}"
    )
    return Arm(sql, parameters)


def _sorted_hits(id_column: str, join: Callable[[str], str], where: str) -> str:
    """The CTE's matches in doc_id order, sorted before the join so that the join stops at the
    limit."""
    return (
        f"SELECT h.{id_column} AS id, h.doc_id AS rank "
        f"FROM (SELECT * FROM hits {where} ORDER BY doc_id) AS h {join('h')} ORDER BY h.doc_id"
    )


def ts_query(words: list[WordMatch]) -> str:
    """A tsquery of quoted lexemes: the words are letters and digits only, so nothing the user
    typed can be read as tsquery syntax."""
    groups = []
    for word in words:
        options = [f"'{word.word}':*" if word.prefix else f"'{word.word}'"]
        options.extend(f"'{alternative}'" for alternative in word.alternatives)
        groups.append(options[0] if len(options) == 1 else f"({' | '.join(options)})")
    return " & ".join(groups)
