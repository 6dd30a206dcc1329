"""The search both adapters share: what is stored, how the vocabulary is kept, and how a query
is answered tier by tier. An adapter adds only its full-text index and its match syntax.

A query is answered in tiers, each filling what the ones before left:

1. films whose whole title (or original title) is the query;
2. films with every query word in a title, then with every word in a title or a credited name
   (the last word may be a prefix: "termin" finds "Terminator");
3. the same two with typos forgiven: each word of 5+ letters may also stand for vocabulary words
   one edit away (two from 9 letters).

Inside a tier, the more popular film first. A tier is one indexed lookup; a later tier runs only
when the earlier ones found fewer films than asked for.
"""

from __future__ import annotations

import abc
import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import bindparam, column, insert, table, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

from kino.catalog.search.documents import (
    MovieDocument,
    PersonDocument,
    all_movie_documents,
    all_person_documents,
    movie_documents,
    movies_crediting,
    person_documents,
)
from kino.catalog.search.text import (
    KEY_PREFIX,
    MAX_WORD_LENGTH,
    ONE_TYPO_FROM,
    TWO_TYPOS_FROM,
    ParsedQuery,
    QueryWord,
    deletion_keys,
    parse_query,
    term_key_budget,
    typos_between,
    vocabulary_of,
)

CHUNK = 500  # ids per statement
MIN_PREFIX = 2  # a one-letter prefix would match half the catalog
MAX_ALTERNATIVES = 16  # vocabulary words one query word may stand for

search_movies_table = table(
    "search_movies",
    column("movie_id"),
    column("title"),
    column("original_title"),
    column("people"),
    column("title_key"),
    column("original_title_key"),
)
search_people_table = table(
    "search_people", column("person_id"), column("name"), column("name_key")
)
search_terms_table = table("search_terms", column("term"), column("doc_count"))


def _expanding(sql: str, *names: str) -> TextClause:
    return text(sql).bindparams(*(bindparam(name, expanding=True) for name in names))


STORED_MOVIES = _expanding(
    "SELECT title, original_title, people FROM search_movies WHERE movie_id IN :ids", "ids"
)
STORED_PEOPLE = _expanding("SELECT name FROM search_people WHERE person_id IN :ids", "ids")
COUNT_TERMS = text(
    "INSERT INTO search_terms (term, doc_count) VALUES (:term, :change) "
    "ON CONFLICT (term) DO UPDATE SET doc_count = search_terms.doc_count + excluded.doc_count"
)
KNOWN_TERMS = _expanding("SELECT term FROM search_terms WHERE term IN :terms", "terms")
TERM_IDS = _expanding("SELECT id, term FROM search_terms WHERE term IN :terms", "terms")
UNUSED_TERMS = _expanding(
    "SELECT id, term FROM search_terms WHERE term IN :terms AND doc_count <= 0", "terms"
)
ADD_TERM_KEYS = text(
    "INSERT INTO search_term_keys (key, term_id, deletions) VALUES (:key, :term_id, :deletions) "
    "ON CONFLICT DO NOTHING"
)
DROP_TERM_KEYS = text("DELETE FROM search_term_keys WHERE key = :key AND term_id = :term_id")
DROP_TERMS = _expanding("DELETE FROM search_terms WHERE id IN :ids", "ids")
CANDIDATES = _expanding(
    "SELECT DISTINCT t.term, t.doc_count FROM search_term_keys k "
    "JOIN search_terms t ON t.id = k.term_id "
    "WHERE k.key IN :keys AND k.deletions <= :deletions "
    "AND length(t.term) BETWEEN :shortest AND :longest",
    "keys",
)
# Every vocabulary word's deletion keys (text.deletion_keys, set-based): its stem with no
# letter, one letter or two letters left out, as far as text.term_key_budget allows.
ALL_TERM_KEYS = f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {KEY_PREFIX}),
stems AS (
    SELECT id, substr(term, 1, {KEY_PREFIX}) AS stem,
           CASE WHEN length(term) >= {TWO_TYPOS_FROM - 2} THEN 2 ELSE 1 END AS budget
    FROM search_terms
    WHERE length(term) BETWEEN {ONE_TYPO_FROM - 1} AND {MAX_WORD_LENGTH + 2}
)
INSERT INTO search_term_keys (key, term_id, deletions)
SELECT stem, id, 0 FROM stems
UNION ALL
SELECT substr(stem, 1, a.i - 1) || substr(stem, a.i + 1), id, 1
FROM stems JOIN n AS a ON a.i <= length(stem)
UNION ALL
SELECT substr(stem, 1, a.i - 1) || substr(stem, a.i + 1, b.i - a.i - 1) || substr(stem, b.i + 1),
       id, 2
FROM stems JOIN n AS a ON a.i <= length(stem) JOIN n AS b ON b.i > a.i AND b.i <= length(stem)
WHERE budget = 2
ON CONFLICT DO NOTHING
"""


class Scope(enum.Enum):
    TITLE = "title"  # title and original title
    ALL = "all"  # … and credited people


@dataclass(frozen=True, slots=True)
class WordMatch:
    """One query word as the index looks for it: itself (or words it begins, when typed last),
    or any of its alternatives."""

    word: str
    prefix: bool
    alternatives: tuple[str, ...] = ()


def _exact(query: ParsedQuery) -> list[WordMatch]:
    return [WordMatch(word.text, _is_prefix(word)) for word in query.words]


def _is_prefix(word: QueryWord) -> bool:
    return word.prefix and len(word.text) >= MIN_PREFIX


class _Ranking:
    """Ids in the order found, each once, up to ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._ids: dict[int, None] = {}

    @property
    def full(self) -> bool:
        return len(self._ids) >= self.limit

    @property
    def wanted(self) -> int:
        """Rows to fetch so that, after dropping those already found, ``limit`` can be met."""
        return self.limit + len(self._ids)

    def add(self, ids: Iterable[int]) -> None:
        for found in ids:
            if self.full:
                return
            self._ids.setdefault(found)

    @property
    def ids(self) -> list[int]:
        return list(self._ids)


class SqlSearchIndex(abc.ABC):
    """A ``SearchIndex`` over the search tables; subclasses provide the full-text part."""

    dialect: ClassVar[str]

    # ------------------------------------------------------------------------------ writing

    async def index_movies(self, session: AsyncSession, movie_ids: Sequence[int]) -> None:
        for ids in _chunks(sorted(set(movie_ids))):
            old = await self._stored_movie_words(session, ids)
            await self._delete_movies(session, ids)
            documents = await movie_documents(session, ids)
            await self._insert_movies(session, documents, bulk=False)
            await self._count_terms(session, old, [document.words() for document in documents])

    async def remove_movies(self, session: AsyncSession, movie_ids: Sequence[int]) -> None:
        for ids in _chunks(sorted(set(movie_ids))):
            old = await self._stored_movie_words(session, ids)
            await self._delete_movies(session, ids)
            await self._count_terms(session, old, [])

    async def index_people(self, session: AsyncSession, person_ids: Sequence[int]) -> None:
        for ids in _chunks(sorted(set(person_ids))):
            old = await self._stored_person_words(session, ids)
            await self._delete_people(session, ids)
            documents = await person_documents(session, ids)
            await self._insert_people(session, documents, bulk=False)
            await self._count_terms(session, old, [document.words() for document in documents])
            # A film is found by the names it credits: a renamed person renames them there too.
            await self.index_movies(session, await movies_crediting(session, ids))

    async def remove_people(self, session: AsyncSession, person_ids: Sequence[int]) -> None:
        for ids in _chunks(sorted(set(person_ids))):
            old = await self._stored_person_words(session, ids)
            await self._delete_people(session, ids)
            await self._count_terms(session, old, [])

    async def rebuild(self, session: AsyncSession) -> None:
        await self._clear(session)
        vocabulary: Counter[str] = Counter()
        async for movies in all_movie_documents(session):
            await self._insert_movies(session, movies, bulk=True)
            for movie in movies:
                vocabulary.update(movie.words())
        async for people in all_person_documents(session):
            await self._insert_people(session, people, bulk=True)
            for person in people:
                vocabulary.update(person.words())
        rows = [{"term": term, "doc_count": count} for term, count in vocabulary.items()]
        for start in range(0, len(rows), 10_000):
            await session.execute(insert(search_terms_table), rows[start : start + 10_000])
        await session.execute(text(ALL_TERM_KEYS))
        await self._after_rebuild(session)

    async def _stored_movie_words(self, session: AsyncSession, ids: list[int]) -> list[set[str]]:
        rows = await session.execute(STORED_MOVIES, {"ids": ids})
        return [vocabulary_of(*row) for row in rows]

    async def _stored_person_words(self, session: AsyncSession, ids: list[int]) -> list[set[str]]:
        rows = await session.execute(STORED_PEOPLE, {"ids": ids})
        return [vocabulary_of(name) for (name,) in rows]

    async def _insert_movies(
        self, session: AsyncSession, documents: list[MovieDocument], *, bulk: bool
    ) -> None:
        if documents:
            rows = [
                {
                    "movie_id": document.movie_id,
                    "title": document.title,
                    "original_title": document.original_title,
                    "people": document.people,
                    "title_key": document.title_key,
                    "original_title_key": document.original_title_key,
                }
                for document in documents
            ]
            await session.execute(insert(search_movies_table), rows)
            if not bulk:
                await self._movies_stored(session, [document.movie_id for document in documents])

    async def _insert_people(
        self, session: AsyncSession, documents: list[PersonDocument], *, bulk: bool
    ) -> None:
        if documents:
            rows = [
                {"person_id": person.person_id, "name": person.name, "name_key": person.name_key}
                for person in documents
            ]
            await session.execute(insert(search_people_table), rows)
            if not bulk:
                await self._people_stored(session, [person.person_id for person in documents])

    async def _count_terms(
        self, session: AsyncSession, old: Iterable[set[str]], new: Iterable[set[str]]
    ) -> None:
        """Keep each word's document count, its deletion keys, and only words still in use."""
        change: Counter[str] = Counter()
        for words in new:
            change.update(words)
        for words in old:
            change.subtract(words)
        changed = {term: count for term, count in change.items() if count}
        if not changed:
            return
        gained = [term for term, count in changed.items() if count > 0]
        lost = [term for term, count in changed.items() if count < 0]
        known = set(await self._scalars(session, KNOWN_TERMS, "terms", gained))
        await session.execute(
            COUNT_TERMS, [{"term": term, "change": count} for term, count in changed.items()]
        )
        await self._add_term_keys(session, [term for term in gained if term not in known])
        await self._drop_unused_terms(session, lost)

    async def _add_term_keys(self, session: AsyncSession, terms: list[str]) -> None:
        rows = []
        for chunk in _chunks(terms):
            for term_id, term in await session.execute(TERM_IDS, {"terms": chunk}):
                rows.extend(_key_rows(term_id, term))
        if rows:
            await session.execute(ADD_TERM_KEYS, rows)

    async def _drop_unused_terms(self, session: AsyncSession, terms: list[str]) -> None:
        for chunk in _chunks(terms):
            unused = (await session.execute(UNUSED_TERMS, {"terms": chunk})).all()
            if not unused:
                continue
            keys = [row for term_id, term in unused for row in _key_rows(term_id, term)]
            if keys:
                await session.execute(DROP_TERM_KEYS, keys)
            await session.execute(DROP_TERMS, {"ids": [term_id for term_id, _term in unused]})

    @staticmethod
    async def _scalars(
        session: AsyncSession, statement: TextClause, name: str, values: list[Any]
    ) -> list[Any]:
        found: list[Any] = []
        for chunk in _chunks(values):
            found.extend((await session.scalars(statement, {name: chunk})).all())
        return found

    # ------------------------------------------------------------------------------ reading

    async def search_movies(
        self, session: AsyncSession, query: str, *, limit: int, include_drafts: bool = True
    ) -> list[int]:
        """Ids of films matching ``query``, best first; ``include_drafts=False`` leaves drafts
        out in the database, so that ``limit`` published films come back when there are."""
        parsed = parse_query(query)
        if parsed is None or limit < 1:
            return []
        ranking = _Ranking(limit)
        ranking.add(await self._movies_titled(session, parsed.key, include_drafts, limit))
        await self._fill_movies(session, ranking, _exact(parsed), include_drafts)
        if not ranking.full:
            for with_typos in await self._with_typos(session, parsed):
                await self._fill_movies(session, ranking, with_typos, include_drafts)
        return ranking.ids

    async def _fill_movies(
        self,
        session: AsyncSession,
        ranking: _Ranking,
        words: list[WordMatch],
        include_drafts: bool,
    ) -> None:
        for scope in Scope:
            if ranking.full:
                return
            ranking.add(
                await self._match_movies(
                    session, words, scope, include_drafts=include_drafts, limit=ranking.wanted
                )
            )

    async def search_people(self, session: AsyncSession, query: str, *, limit: int) -> list[int]:
        parsed = parse_query(query)
        if parsed is None or limit < 1:
            return []
        ranking = _Ranking(limit)
        ranking.add(await self._people_named(session, parsed.key, limit))
        if not ranking.full:
            ranking.add(await self._match_people(session, _exact(parsed), limit=ranking.wanted))
        if not ranking.full:
            for with_typos in await self._with_typos(session, parsed):
                if ranking.full:
                    break
                ranking.add(await self._match_people(session, with_typos, limit=ranking.wanted))
        return ranking.ids

    async def _movies_titled(
        self, session: AsyncSession, key: str, include_drafts: bool, limit: int
    ) -> list[int]:
        statement = text(
            "SELECT m.id FROM search_movies s JOIN movies m ON m.id = s.movie_id "
            "WHERE (s.title_key = :key OR s.original_title_key = :key)"
            f"{'' if include_drafts else ' AND m.status = :published'} "
            "ORDER BY m.popularity DESC, m.id DESC LIMIT :limit"
        )
        parameters = {"key": key, "limit": limit, "published": "published"}
        if include_drafts:
            del parameters["published"]
        return list((await session.scalars(statement, parameters)).all())

    async def _people_named(self, session: AsyncSession, key: str, limit: int) -> list[int]:
        statement = text(
            "SELECT person_id FROM search_people WHERE name_key = :key "
            "ORDER BY person_id LIMIT :limit"
        )
        return list((await session.scalars(statement, {"key": key, "limit": limit})).all())

    async def _with_typos(self, session: AsyncSession, query: ParsedQuery) -> list[list[WordMatch]]:
        """The query's words with the vocabulary words each may stand for: first those one typo
        away, then those two away. Empty when no word has any (the typo tiers would find
        nothing new)."""
        fuzzy = query.fuzzy_words
        if not fuzzy:
            return []
        keys: dict[str, None] = {}
        for word in fuzzy:
            keys.update(dict.fromkeys(deletion_keys(word.text, word.budget)))
        candidates = (
            await session.execute(
                CANDIDATES,
                {
                    "keys": list(keys),
                    "deletions": max(word.budget for word in fuzzy),
                    "shortest": min(word.lengths[0] for word in fuzzy),
                    "longest": max(word.lengths[1] for word in fuzzy),
                },
            )
        ).all()
        alternatives = {word: _alternatives(word, candidates) for word in fuzzy}
        tiers: list[list[WordMatch]] = []
        for typos in (1, 2):
            tier = [
                WordMatch(
                    word.text,
                    _is_prefix(word),
                    tuple(term for term, d in alternatives.get(word, ()) if d <= typos),
                )
                for word in query.words
            ]
            if tier != (tiers[-1] if tiers else _exact(query)):
                tiers.append(tier)
        return tiers

    # ------------------------------------------------------------------------- engine parts

    @abc.abstractmethod
    async def _movies_stored(self, session: AsyncSession, movie_ids: list[int]) -> None:
        """These rows were just added to search_movies: index them."""

    @abc.abstractmethod
    async def _delete_movies(self, session: AsyncSession, movie_ids: list[int]) -> None:
        """Drop these films from search_movies and the full-text index."""

    @abc.abstractmethod
    async def _people_stored(self, session: AsyncSession, person_ids: list[int]) -> None: ...

    @abc.abstractmethod
    async def _delete_people(self, session: AsyncSession, person_ids: list[int]) -> None: ...

    @abc.abstractmethod
    async def _clear(self, session: AsyncSession) -> None:
        """Empty every search table, before a rebuild."""

    @abc.abstractmethod
    async def _after_rebuild(self, session: AsyncSession) -> None:
        """The search tables were bulk-loaded: bring the full-text index up to date."""

    @abc.abstractmethod
    async def _match_movies(
        self,
        session: AsyncSession,
        words: list[WordMatch],
        scope: Scope,
        *,
        include_drafts: bool,
        limit: int,
    ) -> list[int]:
        """Films with every word in ``scope``, the more popular first."""

    @abc.abstractmethod
    async def _match_people(
        self, session: AsyncSession, words: list[WordMatch], *, limit: int
    ) -> list[int]:
        """People with every word in their name, the shorter name first."""


def _alternatives(word: QueryWord, candidates: Sequence[Any]) -> list[tuple[str, int]]:
    """Vocabulary words within ``word``'s typo budget and their distance, the closest and
    commonest first."""
    shortest, longest = word.lengths
    close = []
    for term, doc_count in candidates:
        if term != word.text and shortest <= len(term) <= longest:
            distance = typos_between(word.text, term, word.budget)
            if distance is not None:
                close.append((distance, -doc_count, term))
    close.sort()
    return [(term, distance) for distance, _count, term in close[:MAX_ALTERNATIVES]]


def _key_rows(term_id: int, term: str) -> list[dict[str, Any]]:
    budget = term_key_budget(term)
    if budget < 0:
        return []
    return [
        {"key": key, "term_id": term_id, "deletions": deletions}
        for key, deletions in deletion_keys(term, budget).items()
    ]


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    return (values[start : start + CHUNK] for start in range(0, len(values), CHUNK))
