"""What the search index holds for a film or a person, read from the catalog tables.

A film is found by its title and original title, and by the names of the people who matter
most to it: its directors and writers, and the first few of its cast. Each document has a
``doc_id`` that sorts by prominence (``rank_key``): the engines read matches in that order and
stop at the limit, so a query that matches half the catalog costs no more than one that
matches ten films. Prominence is taken when a document is indexed: a film whose popularity
changes moves in the ranking at its next reindex or rebuild.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kino.catalog.models import Credit, CreditRole, Movie, Person
from kino.catalog.search.text import document_words, exact_key
from kino.catalog.search.vocabulary import DocumentWords

_ID_BITS = 32
MAX_PROMINENCE = 2**30 - 1  # with the id's 32 bits, a key fits a signed 64-bit integer
CREDITED_PER_ROLE = 8  # the first eight of each role; a cast of 300 would drown the title
INDEXED_ROLES = (CreditRole.DIRECTOR, CreditRole.WRITER, CreditRole.ACTOR)
REBUILD_CHUNK = 5_000
NAME_SEPARATOR = "\x1f"  # the unit separator: in no name, and no part of a word


def rank_key(prominence: int, row_id: int) -> int:
    """A document id that sorts the more prominent first, then the newer (higher id) first."""
    if not 0 < row_id < 2**_ID_BITS:
        raise ValueError(f"search ranks ids from 1 to 2**{_ID_BITS} - 1, not {row_id}")
    return -((min(max(prominence, 0), MAX_PROMINENCE) << _ID_BITS) | row_id)


# Reads go through the session's connection (Core, not the ORM): a rebuild reads every film,
# and the ORM's result machinery would cost more than the query.


@dataclass(frozen=True, slots=True)
class MovieDocument:
    movie_id: int
    doc_id: int
    title: str  # words, space-separated
    original_title: str
    people: str
    title_key: str
    original_title_key: str | None

    def words(self) -> DocumentWords:
        titles = frozenset((*self.title.split(), *self.original_title.split()))
        return DocumentWords(titles | frozenset(self.people.split()), titles)


@dataclass(frozen=True, slots=True)
class PersonDocument:
    person_id: int
    doc_id: int
    name: str
    name_key: str

    def words(self) -> DocumentWords:
        return DocumentWords(frozenset(self.name.split()), person=True)


async def movie_documents(session: AsyncSession, movie_ids: Sequence[int]) -> list[MovieDocument]:
    """Documents of these films (films that no longer exist are left out)."""
    return await _movie_documents(session, Movie.id.in_(movie_ids), Credit.movie_id.in_(movie_ids))


async def all_movie_documents(session: AsyncSession) -> AsyncIterator[list[MovieDocument]]:
    """Every film's document, a chunk at a time, in id order."""
    last = 0
    while True:
        ids = list(
            (
                await (await session.connection()).scalars(
                    select(Movie.id).where(Movie.id > last).order_by(Movie.id).limit(REBUILD_CHUNK)
                )
            ).all()
        )
        if not ids:
            return
        yield await _movie_documents(
            session, Movie.id.between(ids[0], ids[-1]), Credit.movie_id.between(ids[0], ids[-1])
        )
        last = ids[-1]


async def _movie_documents(
    session: AsyncSession, movies_where: ColumnElement[bool], credits_where: ColumnElement[bool]
) -> list[MovieDocument]:
    movies = (
        await (await session.connection()).execute(
            select(Movie.id, Movie.title, Movie.original_title, Movie.popularity)
            .where(movies_where)
            .order_by(Movie.id)
        )
    ).all()
    if not movies:
        return []
    credited = await _credited_names(session, credits_where)
    documents = []
    for movie_id, title, original_title, popularity in movies:
        original = original_title if original_title and original_title != title else None
        documents.append(
            MovieDocument(
                movie_id=movie_id,
                doc_id=rank_key(popularity, movie_id),
                title=" ".join(document_words(title)),
                original_title=" ".join(document_words(original)) if original else "",
                people=credited.get(movie_id, ""),
                title_key=exact_key(title),
                original_title_key=exact_key(original) or None,
            )
        )
    return documents


async def _credited_names(session: AsyncSession, where: ColumnElement[bool]) -> dict[int, str]:
    """The words of each film's credited names, one string per film. The database joins the
    names (a row per film, not per credit); they are sorted here, so that a film's text does not
    depend on the order in which a plan happened to read its credits."""
    ranked = (
        select(
            Credit.movie_id,
            Credit.person_id,
            func.row_number()
            .over(
                partition_by=(Credit.movie_id, Credit.role),
                order_by=(Credit.position, Credit.id),
            )
            .label("rank"),
        )
        .where(where, Credit.role.in_(INDEXED_ROLES))
        .subquery()
    )
    rows = await (await session.connection()).execute(
        select(ranked.c.movie_id, func.aggregate_strings(Person.name, NAME_SEPARATOR))
        .join(Person, Person.id == ranked.c.person_id)
        .where(ranked.c.rank <= CREDITED_PER_ROLE)
        .group_by(ranked.c.movie_id)
    )
    return {
        movie_id: " ".join(
            document_words(NAME_SEPARATOR.join(sorted(set(names.split(NAME_SEPARATOR)))))
        )
        for movie_id, names in rows
    }


async def person_documents(
    session: AsyncSession, person_ids: Sequence[int]
) -> list[PersonDocument]:
    people = (
        await (await session.connection()).execute(
            select(Person.id, Person.name).where(Person.id.in_(person_ids)).order_by(Person.id)
        )
    ).all()
    return await _person_documents(session, people, Credit.person_id.in_(person_ids))


async def all_person_documents(session: AsyncSession) -> AsyncIterator[list[PersonDocument]]:
    last = 0
    while True:
        people = (
            await (await session.connection()).execute(
                select(Person.id, Person.name)
                .where(Person.id > last)
                .order_by(Person.id)
                .limit(REBUILD_CHUNK)
            )
        ).all()
        if not people:
            return
        first, last = people[0].id, people[-1].id
        yield await _person_documents(session, people, Credit.person_id.between(first, last))


async def _person_documents(
    session: AsyncSession, people: Sequence[Row[int, str]], credits: ColumnElement[bool]
) -> list[PersonDocument]:
    """A person is the more prominent the more films credit them."""
    counts = dict(
        (
            await (await session.connection()).execute(
                select(Credit.person_id, func.count()).where(credits).group_by(Credit.person_id)
            )
        ).all()
    )
    return [
        PersonDocument(
            person_id=person_id,
            doc_id=rank_key(counts.get(person_id, 0), person_id),
            name=" ".join(document_words(name)),
            name_key=exact_key(name),
        )
        for person_id, name in people
    ]


async def movies_crediting(session: AsyncSession, person_ids: Sequence[int]) -> list[int]:
    query = select(Credit.movie_id).where(Credit.person_id.in_(person_ids)).distinct()
    return list((await (await session.connection()).scalars(query)).all())
