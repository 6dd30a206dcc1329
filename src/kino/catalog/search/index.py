"""The search both adapters share: what is stored, and how a query is answered tier by tier.
An adapter adds only its full-text index: how it is kept, and how it finds the documents that
hold every word of a query.

Films are ranked in tiers, each filling what the ones before left:

1. films whose whole title (or original title) is the query;
2. films with every query word in a title, then with every word in a title or a credited name
   (the last word may be a prefix: "termin" finds "Terminator");
3. the same two with typos forgiven: each word of 5+ letters may also stand for vocabulary words
   one edit away, then (from 9 letters) two.

Inside a tier, the more prominent first (the ``doc_id`` order, see ``documents.rank_key``).
People are ranked the same way by name. A query first asks the vocabulary how many documents
hold each word and which words its typos may stand for (one statement); a step (exact words,
one typo, two typos) runs only when the ones before found fewer than ``limit``, and only the
tiers whose table holds every word. Each tier asks for at most ``limit`` documents.
"""

from __future__ import annotations

import abc
import enum
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.search import SearchHits
from kino.catalog.search.documents import (
    MovieDocument,
    PersonDocument,
    all_movie_documents,
    all_person_documents,
    movie_documents,
    movies_crediting,
    person_documents,
)
from kino.catalog.search.text import ParsedQuery, QueryWord, parse_query, vocabulary_of
from kino.catalog.search.vocabulary import (
    NONE,
    Counts,
    DocumentWords,
    Lexicon,
    add_all_keys,
    chunks,
    count_terms,
    expanding,
    look_up,
)

ROW_COST = 40  # checking a row's words, in index entries read

MOVIE_COLUMNS = (
    "movie_id",
    "doc_id",
    "title",
    "original_title",
    "people",
    "title_key",
    "original_title_key",
)
PERSON_COLUMNS = ("person_id", "doc_id", "name", "name_key")
TERM_COLUMNS = ("term", "doc_count", "title_count", "people_count")


async def _stored_movie_words(session: AsyncSession, ids: list[int]) -> list[DocumentWords]:
    rows = await session.execute(STORED_MOVIES, {"ids": ids})
    return [
        DocumentWords(vocabulary_of(title, original, people), vocabulary_of(title, original))
        for title, original, people in rows
    ]


async def _stored_person_words(session: AsyncSession, ids: list[int]) -> list[DocumentWords]:
    rows = await session.execute(STORED_PEOPLE, {"ids": ids})
    return [DocumentWords(vocabulary_of(name), person=True) for (name,) in rows]


STORED_MOVIES = expanding(
    "SELECT title, original_title, people FROM search_movies WHERE movie_id IN :ids", "ids"
)
STORED_PEOPLE = expanding("SELECT name FROM search_people WHERE person_id IN :ids", "ids")


class Scope(enum.Enum):
    TITLE = "title"  # title and original title
    ALL = "all"  # … and credited people


@dataclass(frozen=True, slots=True)
class WordMatch:
    """One query word as the index looks for it: itself (or any word it begins, when typed
    last and long enough), or any of its alternatives."""

    word: str
    prefix: bool
    alternatives: tuple[str, ...] = ()
    documents: Counts = NONE  # documents holding the word, one it begins, or an alternative


@dataclass
class _Ranking:
    """Ids in the order found, each once, up to ``limit``."""

    limit: int
    found: dict[int, None] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return len(self.found) >= self.limit

    @property
    def wanted(self) -> int:
        """Rows a tier must return so that, with those already found left out, ``limit`` can
        still be met."""
        return self.limit + len(self.found)

    def add(self, found: int) -> None:
        if not self.full:
            self.found.setdefault(found)


@dataclass(frozen=True, slots=True)
class Terms:
    """A step's words as an engine searches them."""

    matched: list[WordMatch]  # looked up in the full-text index
    checked: list[WordMatch]  # common words, checked on the rows the matched ones leave
    all_words: list[WordMatch]
    estimate: float  # documents expected to hold every word
    matched_estimate: float  # … and the matched ones, which the full-text index returns
    total: int  # documents in the index


@dataclass(frozen=True, slots=True)
class Arm:
    """One tier's query: selects ``id`` and ``rank`` (the doc_id) in rank order, up to a limit.
    Its parameter names end in the tag it was built with, so arms combine into one statement."""

    sql: str
    parameters: dict[str, Any]


# A tier: given how many rows to return and a tag for its parameters, its query.
Tier = Callable[[int, str], Arm]


class SqlSearchIndex(abc.ABC):
    """A ``SearchIndex`` over the search tables; subclasses provide the full-text part."""

    tiers_in_one_statement: ClassVar[bool] = True
    documents_sql: ClassVar[str]  # the engine's estimate of the documents in the index
    eager_shortcuts = False  # check every word but the rarest on the rows, on any data (tests)

    # ------------------------------------------------------------------------------ writing

    async def index_movies(self, session: AsyncSession, movie_ids: Sequence[int]) -> None:
        for ids in chunks(sorted(set(movie_ids))):
            old = await _stored_movie_words(session, ids)
            await self._delete_movies(session, ids)
            documents = await movie_documents(session, ids)
            await self._insert_movies(session, documents)
            await self._movies_stored(session, [document.movie_id for document in documents])
            new = [document.words() for document in documents]
            await count_terms(session, old, new)

    async def remove_movies(self, session: AsyncSession, movie_ids: Sequence[int]) -> None:
        for ids in chunks(sorted(set(movie_ids))):
            old = await _stored_movie_words(session, ids)
            await self._delete_movies(session, ids)
            await count_terms(session, old, [])

    async def index_people(self, session: AsyncSession, person_ids: Sequence[int]) -> None:
        for ids in chunks(sorted(set(person_ids))):
            old = await _stored_person_words(session, ids)
            await self._delete_people(session, ids)
            documents = await person_documents(session, ids)
            await self._insert_people(session, documents)
            await self._people_stored(session, [document.person_id for document in documents])
            new = [document.words() for document in documents]
            await count_terms(session, old, new)
            # A film is found by the names it credits: a renamed person renames them there too.
            await self.index_movies(session, await movies_crediting(session, ids))

    async def remove_people(self, session: AsyncSession, person_ids: Sequence[int]) -> None:
        for ids in chunks(sorted(set(person_ids))):
            old = await _stored_person_words(session, ids)
            await self._delete_people(session, ids)
            await count_terms(session, old, [])

    async def rebuild(self, session: AsyncSession) -> None:
        finishing = await self._before_rebuild(session)
        documents: Counter[str] = Counter()
        titles: Counter[str] = Counter()
        async for movies in all_movie_documents(session):
            await self._insert_movies(session, movies)
            for movie in movies:
                words = movie.words()
                documents.update(words.words)
                titles.update(words.titles)
        people: Counter[str] = Counter()
        async for persons in all_person_documents(session):
            await self._insert_people(session, persons)
            for person in persons:
                people.update(person.words().words)
        documents.update(people)
        terms = [(term, count, titles[term], people[term]) for term, count in documents.items()]
        await self._write_rows(session, "search_terms", TERM_COLUMNS, terms)
        await add_all_keys(session)
        for statement in finishing:
            await session.execute(text(statement))

    async def _insert_movies(self, session: AsyncSession, documents: list[MovieDocument]) -> None:
        rows = [
            (
                document.movie_id,
                document.doc_id,
                document.title,
                document.original_title,
                document.people,
                document.title_key,
                document.original_title_key,
            )
            for document in documents
        ]
        await self._write_rows(session, "search_movies", MOVIE_COLUMNS, rows)

    async def _insert_people(self, session: AsyncSession, documents: list[PersonDocument]) -> None:
        rows = [
            (person.person_id, person.doc_id, person.name, person.name_key) for person in documents
        ]
        await self._write_rows(session, "search_people", PERSON_COLUMNS, rows)

    # ------------------------------------------------------------------------------ reading

    async def search(
        self, session: AsyncSession, query: str, *, limit: int, include_drafts: bool = True
    ) -> SearchHits:
        """Films and people for ``query`` at once (they share the work of finding typos)."""
        return await self._search(session, query, limit, limit, include_drafts)

    async def search_movies(
        self, session: AsyncSession, query: str, *, limit: int, include_drafts: bool = True
    ) -> list[int]:
        return (await self._search(session, query, limit, 0, include_drafts)).movie_ids

    async def search_people(self, session: AsyncSession, query: str, *, limit: int) -> list[int]:
        return (await self._search(session, query, 0, limit, include_drafts=True)).person_ids

    async def _search(
        self,
        session: AsyncSession,
        query: str,
        movie_limit: int,
        person_limit: int,
        include_drafts: bool,
    ) -> SearchHits:
        movies, people = _Ranking(max(movie_limit, 0)), _Ranking(max(person_limit, 0))
        parsed = parse_query(query)
        if parsed is not None and not (movies.full and people.full):
            lexicon = await look_up(partial(self._fetch, session), parsed.words, self.documents_sql)
            for number, words in enumerate(_steps(parsed, lexicon)):
                if movies.full and people.full:
                    break
                key = parsed.key if number == 0 and not _any_typos(words) else None
                plans = {
                    kind: self._plan(words, kind, getattr(lexicon.total, kind))
                    for kind in ("titles", "movies", "people")
                }
                tiers = self._tiers(key, plans, movies, people, include_drafts)
                await self._run(session, tiers)
        return SearchHits(list(movies.found), list(people.found))

    def _plan(self, words: list[WordMatch], kind: str, total: int) -> Terms | None:
        """Which words the full-text index looks up in ``kind`` of documents ("titles" of films,
        "movies" or "people"), and which are checked on the rows they leave; None when a word
        is in none of those documents.

        Reading an index entry costs about 1/ROW_COST of checking a row: a common word is
        looked up only while it removes enough rows to pay for reading its entries (assuming
        words occur independently)."""
        counts = {id(word): getattr(word.documents, kind) for word in words}
        if not all(counts.values()):
            return None
        total = max(total, *counts.values())
        rest = sorted(words, key=lambda word: counts[id(word)])
        matched, checked = [rest.pop(0)], []
        estimate = matched_estimate = float(counts[id(matched[0])])
        for word in rest:
            share = counts[id(word)] / total
            if not self.eager_shortcuts and counts[id(word)] < ROW_COST * estimate * (1 - share):
                matched.append(word)
                matched_estimate *= share
            else:
                checked.append(word)
            estimate *= share
        return Terms(matched, checked, words, estimate, matched_estimate, total)

    def _tiers(
        self,
        key: str | None,
        plans: dict[str, Terms | None],
        movies: _Ranking,
        people: _Ranking,
        include_drafts: bool,
    ) -> list[tuple[_Ranking, Tier]]:
        """The tiers worth running: none for a table (or a film's titles) that lacks a word."""
        tiers: list[tuple[_Ranking, Tier]] = []
        if not movies.full:
            titles, anywhere = plans["titles"], plans["movies"]
            if key is not None and titles is not None:
                tiers.append((movies, partial(_movies_titled, key, include_drafts)))
            for scope, terms in ((Scope.TITLE, titles), (Scope.ALL, anywhere)):
                if terms is not None:
                    matching = partial(self._movies_matching, terms, scope, include_drafts)
                    tiers.append((movies, matching))
        person_terms = plans["people"]
        if not people.full and person_terms is not None:
            if key is not None:
                tiers.append((people, partial(_people_named, key)))
            tiers.append((people, partial(self._people_matching, person_terms)))
        return tiers

    async def _run(self, session: AsyncSession, tiers: list[tuple[_Ranking, Tier]]) -> None:
        """Runs tiers in order, each adding to its ranking: all in one statement, or (for an
        engine whose tiers cost more than a round trip) one by one, skipping those whose
        ranking the ones before filled."""
        if not tiers:
            return
        if self.tiers_in_one_statement:
            await self._run_together(session, tiers)
            return
        for ranking, tier in tiers:
            if not ranking.full:
                arm = tier(ranking.wanted, "0")
                sql = f"SELECT id FROM ({arm.sql}) AS arm ORDER BY rank"
                for (found,) in await self._fetch(session, sql, arm.parameters):
                    ranking.add(found)

    async def _run_together(
        self, session: AsyncSession, tiers: list[tuple[_Ranking, Tier]]
    ) -> None:
        arms = [(ranking, tier(ranking.wanted, str(n))) for n, (ranking, tier) in enumerate(tiers)]
        union = " UNION ALL ".join(
            f"SELECT {number} AS arm, id, rank FROM ({arm.sql}) AS arm_{number}"
            for number, (_ranking, arm) in enumerate(arms)
        )
        parameters = {name: value for _, arm in arms for name, value in arm.parameters.items()}
        for number, found, _rank in await self._fetch(
            session, f"{union} ORDER BY arm, rank", parameters
        ):
            arms[number][0].add(found)

    # ------------------------------------------------------------------------- engine parts

    @abc.abstractmethod
    async def _fetch(
        self, session: AsyncSession, sql: str, parameters: dict[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """Run a read on the session's connection, straight through the driver: a search makes
        two or three reads, and SQLAlchemy's execution path costs more than each of them. The
        SQL has ``:name`` parameters; a list parameter stands for a parenthesised list."""

    @abc.abstractmethod
    async def _write_rows(
        self,
        session: AsyncSession,
        table: str,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """Insert these rows in the session's transaction, the fastest way the engine has."""

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
    async def _before_rebuild(self, session: AsyncSession) -> list[str]:
        """Empty every search table, ready for a bulk load; returns the statements that bring
        the full-text indexes up to date once the tables are loaded."""

    @abc.abstractmethod
    def _movies_matching(
        self, words: Terms, scope: Scope, include_drafts: bool, limit: int, tag: str
    ) -> Arm:
        """Films with every word in ``scope``, in doc_id order."""

    @abc.abstractmethod
    def _people_matching(self, words: Terms, limit: int, tag: str) -> Arm:
        """People with every word in their name, in doc_id order."""


def movies_join(include_drafts: bool, alias: str) -> str:
    """The join that keeps only films still in the catalog, and only published ones for
    viewers."""
    status = "" if include_drafts else f" AND m_{alias}.status = 'published'"
    return f"JOIN movies AS m_{alias} ON m_{alias}.id = {alias}.movie_id{status}"


def _movies_titled(key: str, include_drafts: bool, limit: int, tag: str) -> Arm:
    """Films whose title or original title is the query, exactly."""
    sql = (
        f"SELECT s.movie_id AS id, s.doc_id AS rank FROM search_movies AS s "
        f"{movies_join(include_drafts, 's')} WHERE s.doc_id IN ("
        f"SELECT doc_id FROM search_movies WHERE title_key = :key_{tag} UNION ALL "
        f"SELECT doc_id FROM search_movies WHERE original_title_key = :key_{tag}) "
        f"ORDER BY s.doc_id LIMIT :limit_{tag}"
    )
    return Arm(sql, {f"key_{tag}": key, f"limit_{tag}": limit})


def _people_named(key: str, limit: int, tag: str) -> Arm:
    sql = (
        f"SELECT person_id AS id, doc_id AS rank FROM search_people WHERE name_key = :key_{tag} "
        f"ORDER BY doc_id LIMIT :limit_{tag}"
    )
    return Arm(sql, {f"key_{tag}": key, f"limit_{tag}": limit})


def _steps(query: ParsedQuery, lexicon: Lexicon) -> list[list[WordMatch]]:
    """The query's words as each step looks for them: as typed, then with the alternatives one
    typo away, then two. A step that cannot match (a word in no document) or that adds no
    alternative to the one before is left out."""
    steps = []
    previous: list[WordMatch] | None = None
    for typos in (0, 1, 2):
        step = [_word_match(word, lexicon, typos) for word in query.words]
        if step != previous and all(word.documents.both for word in step):
            steps.append(step)
        previous = step
    return steps


def _word_match(word: QueryWord, lexicon: Lexicon, typos: int) -> WordMatch:
    close = [match for match in lexicon.alternatives.get(word, ()) if match.typos <= typos]
    documents = lexicon.documents.get(word.text, NONE) + (lexicon.begun if word.prefix else NONE)
    return WordMatch(
        word.text,
        word.prefix,
        tuple(match.term for match in close),
        sum((match.documents for match in close), documents),
    )


def _any_typos(words: list[WordMatch]) -> bool:
    return any(word.alternatives for word in words)
