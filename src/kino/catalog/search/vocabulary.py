"""The vocabulary: every indexed word with the number of documents that hold it, and its
deletion keys, by which a query word with typos finds the words it may stand for.

The same tables and statements serve both engines; only the index's rebuild differs (it builds
the keys set-based, in SQL).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

from kino.catalog.search.text import (
    KEY_PREFIX,
    MAX_WORD_LENGTH,
    ONE_TYPO_FROM,
    TWO_TYPOS_FROM,
    QueryWord,
    deletion_keys,
    term_key_budget,
    typos_between,
)

CHUNK = 500  # values per statement
MAX_ALTERNATIVES = 16  # vocabulary words one query word may stand for


def expanding(sql: str, *names: str) -> TextClause:
    """``text(sql)`` whose ``names`` take lists (``IN :ids``)."""
    return text(sql).bindparams(*(bindparam(name, expanding=True) for name in names))


def chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    return (list(values[start : start + CHUNK]) for start in range(0, len(values), CHUNK))


COUNT_TERMS = text(
    "INSERT INTO search_terms (term, doc_count, title_count, people_count) "
    "VALUES (:term, :documents, :titles, :people) ON CONFLICT (term) DO UPDATE SET "
    "doc_count = search_terms.doc_count + excluded.doc_count, "
    "title_count = search_terms.title_count + excluded.title_count, "
    "people_count = search_terms.people_count + excluded.people_count"
)
KNOWN_TERMS = expanding("SELECT term FROM search_terms WHERE term IN :terms", "terms")
TERM_IDS = expanding("SELECT id, term FROM search_terms WHERE term IN :terms", "terms")
UNUSED_TERMS = expanding(
    "SELECT id, term FROM search_terms WHERE term IN :terms AND doc_count <= 0", "terms"
)
ADD_TERM_KEYS = text(
    "INSERT INTO search_term_keys (key, term_id, deletions) VALUES (:key, :term_id, :deletions) "
    "ON CONFLICT DO NOTHING"
)
DROP_TERM_KEYS = text("DELETE FROM search_term_keys WHERE key = :key AND term_id = :term_id")
DROP_TERMS = expanding("DELETE FROM search_terms WHERE id IN :ids", "ids")
CANDIDATES = (
    "SELECT DISTINCT 2, t.term, t.doc_count - t.people_count, t.title_count, t.people_count "
    "FROM search_term_keys AS k "
    "JOIN search_terms AS t ON t.id = k.term_id "
    "WHERE k.key IN :keys AND k.deletions <= :deletions "
    "AND length(t.term) BETWEEN :shortest AND :longest"
)
# Every vocabulary word's deletion keys, as text.deletion_keys and text.term_key_budget make
# them: its stem with no letter, one letter or two letters left out.
ALL_TERM_KEYS = text(f"""
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
""")


@dataclass(frozen=True, slots=True)
class DocumentWords:
    """The distinct words of one document, as the vocabulary counts them."""

    words: frozenset[str]
    titles: frozenset[str] = frozenset()  # of a film: those in its title or original title
    person: bool = False


async def count_terms(
    session: AsyncSession, old: Iterable[DocumentWords], new: Iterable[DocumentWords]
) -> None:
    """Documents that held ``old`` now hold ``new``: keep each word's document counts, its
    keys, and only the words still in use."""
    documents: Counter[str] = Counter()
    titles: Counter[str] = Counter()
    people: Counter[str] = Counter()
    for sign, group in ((1, new), (-1, old)):
        for document in group:
            documents.update(dict.fromkeys(document.words, sign))
            titles.update(dict.fromkeys(document.titles, sign))
            if document.person:
                people.update(dict.fromkeys(document.words, sign))
    changed = [term for term in documents if documents[term] or titles[term] or people[term]]
    if not changed:
        return
    gained = [term for term in changed if documents[term] > 0]
    known = {term for chunk in chunks(gained) for term in await _scalars(session, chunk)}
    rows = [
        {"term": term, "documents": documents[term], "titles": titles[term], "people": people[term]}
        for term in changed
    ]
    await session.execute(COUNT_TERMS, rows)
    await _add_keys(session, [term for term in gained if term not in known])
    await _drop_unused(session, [term for term in changed if documents[term] < 0])


async def add_all_keys(session: AsyncSession) -> None:
    """File every word of a freshly loaded vocabulary under its keys, set-based."""
    await session.execute(ALL_TERM_KEYS)


async def _scalars(session: AsyncSession, terms: list[str]) -> list[str]:
    return list((await session.scalars(KNOWN_TERMS, {"terms": terms})).all())


async def _add_keys(session: AsyncSession, terms: list[str]) -> None:
    rows = []
    for chunk in chunks(terms):
        for term_id, term in await session.execute(TERM_IDS, {"terms": chunk}):
            rows.extend(_key_rows(term_id, term))
    if rows:
        await session.execute(ADD_TERM_KEYS, rows)


async def _drop_unused(session: AsyncSession, terms: list[str]) -> None:
    for chunk in chunks(terms):
        unused = (await session.execute(UNUSED_TERMS, {"terms": chunk})).all()
        if not unused:
            continue
        keys = [row for term_id, term in unused for row in _key_rows(term_id, term)]
        if keys:
            await session.execute(DROP_TERM_KEYS, keys)
        await session.execute(DROP_TERMS, {"ids": [term_id for term_id, _term in unused]})


def _key_rows(term_id: int, term: str) -> list[dict[str, Any]]:
    budget = term_key_budget(term)
    if budget < 0:
        return []
    return [
        {"key": key, "term_id": term_id, "deletions": deletions}
        for key, deletions in deletion_keys(term, budget).items()
    ]


@dataclass(frozen=True, slots=True)
class Counts:
    """Documents holding a word: films, films with it in a title, people."""

    movies: int = 0
    titles: int = 0
    people: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.movies + other.movies, self.titles + other.titles, self.people + other.people
        )

    @property
    def both(self) -> int:
        return self.movies + self.people


NONE = Counts()


@dataclass(frozen=True, slots=True)
class Alternative:
    term: str
    typos: int
    documents: Counts


@dataclass(frozen=True, slots=True)
class Lexicon:
    """What the vocabulary knows of a query's words."""

    documents: dict[str, Counts]  # documents holding each word as it was typed
    begun: Counts  # documents holding a longer word that the word being typed begins
    alternatives: dict[QueryWord, list[Alternative]]  # words within each one's typo budget
    total: Counts  # documents in the index, as the engine's statistics estimate it


# At most this many vocabulary words are counted for the prefix being typed: enough to tell a
# common prefix from a rare one.
PREFIX_SAMPLE = 1_000


# Runs a read on the session's connection: SQL with ``:name`` parameters (a list parameter
# stands for a parenthesised list, as in ``IN :terms``), returning the rows.
Fetch = Callable[[str, dict[str, Any]], Awaitable[Sequence[Sequence[Any]]]]


async def look_up(fetch: Fetch, words: Sequence[QueryWord], documents_sql: str) -> Lexicon:
    """How many documents hold each query word, and which vocabulary words each may stand
    for, the closest and then the commonest first: one statement for the whole query.
    ``documents_sql`` is the engine's estimate of the documents in the index."""
    parts = [
        "SELECT 0 AS part, term, doc_count - people_count AS movies, title_count, people_count "
        "FROM search_terms WHERE term IN :terms",
        f"SELECT 3, '', movies, movies, people FROM ({documents_sql}) AS total",
    ]
    parameters: dict[str, Any] = {"terms": [word.text for word in words]}
    typed = words[-1]
    if typed.prefix and typed.text[-1] < chr(0x10FFFF):
        parts.append(
            "SELECT 1, '', coalesce(sum(doc_count - people_count), 0), "
            "coalesce(sum(title_count), 0), coalesce(sum(people_count), 0) "
            "FROM (SELECT doc_count, title_count, people_count "
            "FROM search_terms WHERE term > :typed AND term < :beyond "
            f"LIMIT {PREFIX_SAMPLE}) AS begun"
        )
        parameters |= {
            "typed": typed.text,
            "beyond": typed.text[:-1] + chr(ord(typed.text[-1]) + 1),
        }
    fuzzy = [word for word in words if word.budget]
    if fuzzy:
        parts.append(CANDIDATES)
        keys: dict[str, None] = {}
        for word in fuzzy:
            keys.update(dict.fromkeys(deletion_keys(word.text, word.budget)))
        parameters |= {
            "keys": list(keys),
            "deletions": max(word.budget for word in fuzzy),
            "shortest": min(word.lengths[0] for word in fuzzy),
            "longest": max(word.lengths[1] for word in fuzzy),
        }
    rows = await fetch(" UNION ALL ".join(parts), parameters)
    counted = [
        (part, term, Counts(int(movies or 0), int(titles or 0), int(people or 0)))
        for part, term, movies, titles, people in rows
    ]
    candidates = [(term, counts) for part, term, counts in counted if part == 2]
    return Lexicon(
        documents={term: counts for part, term, counts in counted if part == 0},
        begun=sum((counts for part, _term, counts in counted if part == 1), NONE),
        alternatives={word: _close_to(word, candidates) for word in fuzzy},
        total=sum((counts for part, _term, counts in counted if part == 3), NONE),
    )


def _close_to(word: QueryWord, candidates: Sequence[tuple[str, Counts]]) -> list[Alternative]:
    shortest, longest = word.lengths
    close = []
    for term, counts in candidates:
        if term != word.text and shortest <= len(term) <= longest:
            typos = typos_between(word.text, term, word.budget)
            if typos is not None:
                close.append((typos, -counts.both, term, counts))
    close.sort(key=lambda candidate: candidate[:3])
    return [
        Alternative(term, typos, counts) for typos, _count, term, counts in close[:MAX_ALTERNATIVES]
    ]
