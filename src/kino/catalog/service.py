"""Catalog rules: who sees which films, how films and people are created, changed and listed.

Knows nothing of HTTP. Every change keeps the search index in step inside the same transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Column, ColumnElement, Select, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from kino.catalog.models import (
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
from kino.catalog.naming import SlugAllocator, slugify, sort_title
from kino.catalog.schemas import (
    CreditRead,
    CreditWrite,
    FilmographyEntry,
    GenreRead,
    MovieCreate,
    MovieRead,
    MovieSummary,
    MovieUpdate,
    PersonCreate,
    PersonRead,
    PersonSummary,
    PersonUpdate,
)
from kino.catalog.search import SearchIndex
from kino.core.errors import Conflict, InvalidInput, NotFound
from kino.core.pagination import Page, PageParams

# How many ranked search hits a filtered, paged search list considers.
SEARCH_WINDOW = 1000
CREDIT_ROLE_ORDER = {role: index for index, role in enumerate(CreditRole)}
PLAIN_MOVIE_FIELDS = frozenset(
    {"original_title", "year", "release_date", "runtime_minutes", "synopsis", "age_rating"}
    | {"status", "access"}
)


Columns = TypeVarTuple("Columns")
# Genre names never hold this control character, so it can join them in one column.
GENRE_SEPARATOR = "\x1f"
GENRE_NAMES = (
    select(func.aggregate_strings(Genre.name, GENRE_SEPARATOR))
    .join(movie_genres, movie_genres.c.genre_id == Genre.id)
    .where(movie_genres.c.movie_id == Movie.id)
    .scalar_subquery()
    .label("genre_names")
)
SUMMARY_COLUMNS = (
    Movie.id,
    Movie.slug,
    Movie.title,
    Movie.year,
    Movie.runtime_minutes,
    Movie.age_rating,
    Movie.status,
    Movie.access,
    Movie.popularity,
    Movie.rating_avg,
    Movie.rating_count,
    GENRE_NAMES,
)


class MovieSort(enum.StrEnum):
    RELEVANCE = "relevance"
    TITLE = "title"
    YEAR_DESC = "-year"
    POPULARITY_DESC = "-popularity"
    RATING_DESC = "-rating"
    CREATED_DESC = "-created_at"


@dataclass(frozen=True, kw_only=True)
class MovieFilters:
    genre: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    country: str | None = None
    language: str | None = None
    age_rating: str | None = None
    person_id: int | None = None
    q: str | None = None


# ---------------------------------------------------------------------------- listing films


async def list_movies(
    session: AsyncSession,
    search: SearchIndex,
    *,
    filters: MovieFilters,
    sort: MovieSort | None,
    paging: PageParams,
    include_drafts: bool,
) -> Page[MovieSummary]:
    conditions = await _conditions(session, filters, include_drafts=include_drafts)
    ranked: list[int] | None = None
    if filters.q is not None:
        ranked = await search.search_movies(session, filters.q, limit=SEARCH_WINDOW)
        if not ranked:
            return Page(items=[], total=0, page=paging.page, page_size=paging.page_size)
        conditions.plain.append(Movie.id.in_(ranked))
    sort = sort or (MovieSort.RELEVANCE if ranked is not None else MovieSort.POPULARITY_DESC)
    counted = conditions.apply(select(func.count()).select_from(Movie), correlated=False)
    total = int(await session.scalar(counted) or 0)
    query = conditions.apply(select(Movie.id), correlated=True)
    if sort is MovieSort.RELEVANCE and ranked is not None:
        matching = set((await session.scalars(query)).all())
        page_ids = [movie_id for movie_id in ranked if movie_id in matching]
        page_ids = page_ids[paging.offset : paging.offset + paging.page_size]
        items = await movie_summaries(session, page_ids)
    else:
        ordered = _order(query.with_only_columns(*SUMMARY_COLUMNS), sort)
        rows = (await session.execute(ordered.offset(paging.offset).limit(paging.page_size))).all()
        items = [_summary(row) for row in rows]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@dataclass(frozen=True)
class _Conditions:
    """A film filter as SQL: plain column tests, and memberships (film id in a link table)."""

    plain: list[ColumnElement[bool]]
    memberships: list[tuple[InstrumentedAttribute[int] | Column[Any], ColumnElement[bool]]]

    def apply(self, query: Select[*Columns], *, correlated: bool) -> Select[*Columns]:
        """``correlated`` (EXISTS) lets a sorted page walk the sort index and stop at the page's
        end; uncorrelated (IN) lets a count start from the smaller link-table index."""
        query = query.where(*self.plain)
        for movie_id, predicate in self.memberships:
            if correlated:
                query = query.where(exists().where(movie_id == Movie.id, predicate))
            else:
                query = query.where(Movie.id.in_(select(movie_id).where(predicate)))
        return query


async def _conditions(
    session: AsyncSession, filters: MovieFilters, *, include_drafts: bool
) -> _Conditions:
    plain: list[ColumnElement[bool]] = []
    if not include_drafts:
        plain.append(Movie.status == MovieStatus.PUBLISHED)
    if filters.year_from is not None:
        plain.append(Movie.year >= filters.year_from)
    if filters.year_to is not None:
        plain.append(Movie.year <= filters.year_to)
    if filters.age_rating is not None:
        plain.append(Movie.age_rating == filters.age_rating)
    memberships: list[tuple[InstrumentedAttribute[int] | Column[Any], ColumnElement[bool]]] = []
    if filters.genre is not None:
        genre_id = await _genre_id(session, filters.genre)
        memberships.append((movie_genres.c.movie_id, movie_genres.c.genre_id == genre_id))
    if filters.country is not None:
        memberships.append((MovieCountry.movie_id, MovieCountry.name == filters.country))
    if filters.language is not None:
        memberships.append((MovieLanguage.movie_id, MovieLanguage.name == filters.language))
    if filters.person_id is not None:
        memberships.append((Credit.movie_id, Credit.person_id == filters.person_id))
    return _Conditions(plain, memberships)


async def _genre_id(session: AsyncSession, genre: str) -> int:
    """A genre named by slug or by name; an unknown genre matches nothing (id 0)."""
    found = await session.scalar(
        select(Genre.id).where((Genre.slug == slugify(genre)) | (Genre.name == genre))
    )
    return found or 0


def _order(query: Select[*Columns], sort: MovieSort) -> Select[*Columns]:
    match sort:
        case MovieSort.TITLE:
            return query.order_by(Movie.sort_title, Movie.id)
        case MovieSort.YEAR_DESC:
            return query.order_by(Movie.year.desc().nulls_last(), Movie.id.desc())
        case MovieSort.RATING_DESC:
            return query.order_by(
                Movie.rating_avg.desc().nulls_last(), Movie.rating_count.desc(), Movie.id.desc()
            )
        case MovieSort.CREATED_DESC:
            return query.order_by(Movie.created_at.desc(), Movie.id.desc())
        case _:  # popularity, and relevance when there is no query to rank by
            return query.order_by(Movie.popularity.desc(), Movie.id.desc())


async def movie_summaries(session: AsyncSession, movie_ids: Sequence[int]) -> list[MovieSummary]:
    """Summaries of these films, in the order of ``movie_ids`` (missing ids are skipped)."""
    if not movie_ids:
        return []
    rows = (await session.execute(select(*SUMMARY_COLUMNS).where(Movie.id.in_(movie_ids)))).all()
    by_id = {row.id: _summary(row) for row in rows}
    return [by_id[movie_id] for movie_id in movie_ids if movie_id in by_id]


def _summary(row: Any) -> MovieSummary:
    fields = row._asdict()
    names = fields.pop("genre_names")
    return MovieSummary(**fields, genres=sorted(names.split(GENRE_SEPARATOR)) if names else [])


# ---------------------------------------------------------------------------- one film


async def get_movie(session: AsyncSession, movie_id: int, *, include_drafts: bool) -> MovieRead:
    movie = await _load_movie(session, movie_id)
    if movie is None or (movie.status is MovieStatus.DRAFT and not include_drafts):
        raise NotFound(f"There is no film with id {movie_id}.")
    return _movie_read(movie)


async def movie_status(session: AsyncSession, movie_id: int) -> MovieStatus:
    """For other domains: the film's status, or NotFound when there is no such film."""
    status = await session.scalar(select(Movie.status).where(Movie.id == movie_id))
    if status is None:
        raise NotFound(f"There is no film with id {movie_id}.")
    return status


async def record_view(session: AsyncSession, movie_id: int) -> None:
    """For playback: one more view towards the film's popularity (what ``sort=-popularity``
    orders by). One atomic UPDATE, so concurrent starts all count; ``updated_at`` is kept, a
    view is not an edit of the film."""
    await session.execute(
        update(Movie)
        .where(Movie.id == movie_id)
        .values(popularity=Movie.popularity + 1, updated_at=Movie.updated_at)
        .execution_options(synchronize_session=False)
    )


async def _load_movie(session: AsyncSession, movie_id: int) -> Movie | None:
    result = await session.execute(
        select(Movie)
        .where(Movie.id == movie_id)
        .options(
            selectinload(Movie.genres),
            selectinload(Movie.countries),
            selectinload(Movie.languages),
            selectinload(Movie.credits).selectinload(Credit.person),
        )
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


def _movie_read(movie: Movie) -> MovieRead:
    credits = sorted(movie.credits, key=lambda c: (CREDIT_ROLE_ORDER[c.role], c.position, c.id))
    return MovieRead(
        id=movie.id,
        slug=movie.slug,
        title=movie.title,
        original_title=movie.original_title,
        year=movie.year,
        release_date=movie.release_date,
        runtime_minutes=movie.runtime_minutes,
        synopsis=movie.synopsis,
        age_rating=movie.age_rating,
        status=movie.status,
        access=movie.access,
        popularity=movie.popularity,
        rating_avg=movie.rating_avg,
        rating_count=movie.rating_count,
        like_count=movie.like_count,
        genres=[GenreRead.model_validate(genre) for genre in sorted(movie.genres, key=_by_name)],
        countries=[country.name for country in movie.countries],
        languages=[language.name for language in movie.languages],
        credits=[
            CreditRead(
                person=PersonSummary.model_validate(credit.person),
                role=credit.role,
                character=credit.character,
                position=credit.position,
            )
            for credit in credits
        ],
        created_at=movie.created_at,
        updated_at=movie.updated_at,
    )


def _by_name(genre: Genre) -> str:
    return genre.name


async def create_movie(session: AsyncSession, search: SearchIndex, body: MovieCreate) -> MovieRead:
    movie = Movie(
        title=body.title,
        sort_title=sort_title(body.title),
        slug=await _unique_slug(session, Movie, body.title, body.year),
        original_title=body.original_title,
        year=body.year or (body.release_date.year if body.release_date else None),
        release_date=body.release_date,
        runtime_minutes=body.runtime_minutes,
        synopsis=body.synopsis,
        age_rating=body.age_rating,
        status=body.status,
        access=body.access,
        genres=await _genres_named(session, body.genres),
        countries=_positioned(MovieCountry, body.countries),
        languages=_positioned(MovieLanguage, body.languages),
        credits=await _credits(session, body.credits),
    )
    session.add(movie)
    await session.flush()
    await search.index_movies(session, [movie.id])
    return await get_movie(session, movie.id, include_drafts=True)


async def update_movie(
    session: AsyncSession, search: SearchIndex, movie_id: int, body: MovieUpdate
) -> MovieRead:
    movie = await _load_movie(session, movie_id)
    if movie is None:
        raise NotFound(f"There is no film with id {movie_id}.")
    changes = body.model_dump(exclude_unset=True)
    _reject_nulls(changes, required=("title", "status", "access"))
    for field in PLAIN_MOVIE_FIELDS & changes.keys():
        setattr(movie, field, changes[field])
    if "title" in changes:
        movie.title = changes["title"]
        movie.sort_title = sort_title(movie.title)
    if body.genres is not None:
        movie.genres = await _genres_named(session, body.genres)
    if body.countries is not None:
        movie.countries = _positioned(MovieCountry, body.countries)
    if body.languages is not None:
        movie.languages = _positioned(MovieLanguage, body.languages)
    if body.credits is not None:
        movie.credits = await _credits(session, body.credits)
    await session.flush()
    await search.index_movies(session, [movie.id])
    return await get_movie(session, movie.id, include_drafts=True)


def _reject_nulls(changes: dict[str, Any], *, required: Sequence[str]) -> None:
    for field in required:
        if field in changes and changes[field] is None:
            message = f"{field} cannot be empty."
            raise InvalidInput(message, details=[{"field": field, "message": message}])


class MovieInUse(Conflict):
    code = "movie_in_use"

    def __init__(self, movie_id: int) -> None:
        super().__init__(
            f"Film {movie_id} has showtimes in cinemas (cancelled ones too), so it is kept; set it "
            "back to draft to take it off the catalog."
        )


async def delete_movie(session: AsyncSession, search: SearchIndex, movie_id: int) -> None:
    if await session.get(Movie, movie_id) is None:
        raise NotFound(f"There is no film with id {movie_id}.")
    await search.remove_movies(session, [movie_id])
    try:
        await session.execute(delete(Movie).where(Movie.id == movie_id))
    except IntegrityError:  # showtimes (and the tickets sold for them) point at it
        raise MovieInUse(movie_id) from None


async def _unique_slug(
    session: AsyncSession, model: type[Movie] | type[Person], text: str, year: int | None = None
) -> str:
    base = slugify(text)
    taken = await session.scalars(select(model.slug).where(model.slug.startswith(base)))
    return SlugAllocator(taken.all()).allocate(text, year=year)


async def _genres_named(session: AsyncSession, names: Sequence[str]) -> list[Genre]:
    """The genres with these names, created when new; the same genre named twice counts once."""
    wanted = {slugify(name): name for name in names}
    existing = {
        genre.slug: genre
        for genre in (await session.scalars(select(Genre).where(Genre.slug.in_(wanted)))).all()
    }
    for slug, name in wanted.items():
        if slug not in existing:
            existing[slug] = Genre(name=name, slug=slug)
            session.add(existing[slug])
    return [existing[slug] for slug in wanted]


def _positioned(model: type[MovieCountry] | type[MovieLanguage], names: Sequence[str]) -> list[Any]:
    unique = list(dict.fromkeys(names))
    return [model(name=name, position=index) for index, name in enumerate(unique)]


async def _credits(session: AsyncSession, credits: Sequence[CreditWrite]) -> list[Credit]:
    person_ids = {credit.person_id for credit in credits}
    found = set((await session.scalars(select(Person.id).where(Person.id.in_(person_ids)))).all())
    missing = sorted(person_ids - found)
    if missing:
        raise InvalidInput(
            f"No person has the id {', '.join(map(str, missing))}.",
            details=[{"field": "credits", "message": "unknown person", "person_ids": missing}],
        )
    seen: set[tuple[int, CreditRole]] = set()
    result = []
    for credit in credits:
        if (credit.person_id, credit.role) in seen:
            message = f"Person {credit.person_id} is credited twice as {credit.role.value}."
            raise InvalidInput(message, details=[{"field": "credits", "message": message}])
        seen.add((credit.person_id, credit.role))
        result.append(
            Credit(
                person_id=credit.person_id,
                role=credit.role,
                character=credit.character,
                position=credit.position,
            )
        )
    return result


# ---------------------------------------------------------------------------- people


async def list_people(
    session: AsyncSession, search: SearchIndex, *, q: str | None, paging: PageParams
) -> Page[PersonSummary]:
    if q is not None:
        ranked = await search.search_people(session, q, limit=SEARCH_WINDOW)
        window = ranked[paging.offset : paging.offset + paging.page_size]
        people = {
            person.id: person
            for person in (await session.scalars(select(Person).where(Person.id.in_(window))))
        }
        items = [PersonSummary.model_validate(people[i]) for i in window if i in people]
        return Page(items=items, total=len(ranked), page=paging.page, page_size=paging.page_size)
    total = int(await session.scalar(select(func.count()).select_from(Person)) or 0)
    rows = await session.scalars(
        select(Person)
        .order_by(Person.name, Person.id)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    items = [PersonSummary.model_validate(person) for person in rows]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


async def get_person(session: AsyncSession, person_id: int, *, include_drafts: bool) -> PersonRead:
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(f"There is no person with id {person_id}.")
    query = (
        select(Credit.movie_id, Credit.role, Credit.character)
        .join(Movie, Movie.id == Credit.movie_id)
        .where(Credit.person_id == person_id)
        .order_by(Movie.year.desc().nulls_last(), Movie.id.desc(), Credit.role)
    )
    if not include_drafts:
        query = query.where(Movie.status == MovieStatus.PUBLISHED)
    credits = (await session.execute(query)).all()
    summaries = {
        summary.id: summary
        for summary in await movie_summaries(session, list({c.movie_id: 0 for c in credits}))
    }
    return PersonRead(
        id=person.id,
        slug=person.slug,
        name=person.name,
        bio=person.bio,
        filmography=[
            FilmographyEntry(movie=summaries[c.movie_id], role=c.role, character=c.character)
            for c in credits
        ],
    )


async def create_person(
    session: AsyncSession, search: SearchIndex, body: PersonCreate
) -> PersonRead:
    person = Person(
        name=body.name, bio=body.bio, slug=await _unique_slug(session, Person, body.name)
    )
    session.add(person)
    await session.flush()
    await search.index_people(session, [person.id])
    return await get_person(session, person.id, include_drafts=True)


async def update_person(
    session: AsyncSession, search: SearchIndex, person_id: int, body: PersonUpdate
) -> PersonRead:
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(f"There is no person with id {person_id}.")
    changes = body.model_dump(exclude_unset=True)
    _reject_nulls(changes, required=("name",))
    if "name" in changes:
        person.name = changes["name"]
    if "bio" in changes:
        person.bio = changes["bio"]
    await session.flush()
    await search.index_people(session, [person.id])  # reindexes the films crediting them too
    return await get_person(session, person.id, include_drafts=True)


async def delete_person(session: AsyncSession, search: SearchIndex, person_id: int) -> None:
    if await session.get(Person, person_id) is None:
        raise NotFound(f"There is no person with id {person_id}.")
    movie_ids = await _credited_movie_ids(session, person_id)
    await search.remove_people(session, [person_id])
    await session.execute(delete(Person).where(Person.id == person_id))
    await search.index_movies(session, movie_ids)


async def _credited_movie_ids(session: AsyncSession, person_id: int) -> list[int]:
    query = select(Credit.movie_id).where(Credit.person_id == person_id).distinct()
    return list((await session.scalars(query)).all())


# ---------------------------------------------------------------------------- genres


async def list_genres(session: AsyncSession) -> list[GenreRead]:
    genres = await session.scalars(select(Genre).order_by(Genre.name))
    return [GenreRead.model_validate(genre) for genre in genres]
