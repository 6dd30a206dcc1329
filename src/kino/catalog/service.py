"""Catalog rules: who sees which films, how films and people are created, changed and listed.

Knows nothing of HTTP. Every change keeps the search index in step inside the same transaction.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Select,
    String,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from kino.catalog.models import (
    CatalogVersion,
    Credit,
    CreditRole,
    Genre,
    Movie,
    MovieCountry,
    MovieFacetCount,
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
    GenreUsage,
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
from kino.core.cache import Cache
from kino.core.errors import Conflict, InvalidInput, NotFound
from kino.core.pagination import Page, PageParams
from kino.core.reads import DriverRead

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


MOVIE_ID = bindparam("movie_id", type_=BigInteger())
MOVIE_ROW = DriverRead(
    select(
        Movie.id,
        Movie.slug,
        Movie.title,
        Movie.original_title,
        Movie.year,
        Movie.release_date,
        Movie.runtime_minutes,
        Movie.synopsis,
        Movie.age_rating,
        Movie.status,
        Movie.access,
        Movie.popularity,
        Movie.rating_avg,
        Movie.rating_count,
        Movie.like_count,
        Movie.created_at,
        Movie.updated_at,
    ).where(Movie.id == MOVIE_ID)
)
MOVIE_ROW_NAMES = tuple(MOVIE_ROW.statement.selected_columns.keys())
# A film's genres, countries, languages and credits (with each credited person) in one read:
# rows of (part, position, id, name, slug, role, character, credit id).
GENRE_PART, COUNTRY_PART, LANGUAGE_PART, CREDIT_PART = range(4)
NO_TEXT, NO_ID = cast(null(), String), cast(null(), BigInteger)
MOVIE_PARTS = DriverRead(
    union_all(
        select(literal_column(str(GENRE_PART)), literal_column("0"), Genre.id, Genre.name)
        .add_columns(Genre.slug, NO_TEXT, NO_TEXT, NO_ID)
        .join(movie_genres, movie_genres.c.genre_id == Genre.id)
        .where(movie_genres.c.movie_id == MOVIE_ID),
        *(
            select(literal_column(str(part)), model.position, NO_ID, model.name)
            .add_columns(NO_TEXT, NO_TEXT, NO_TEXT, NO_ID)
            .where(model.movie_id == MOVIE_ID)
            for part, model in ((COUNTRY_PART, MovieCountry), (LANGUAGE_PART, MovieLanguage))
        ),
        select(literal_column(str(CREDIT_PART)), Credit.position, Person.id, Person.name)
        .add_columns(Person.slug, Credit.role, Credit.character, Credit.id)
        .join(Person, Person.id == Credit.person_id)
        .where(Credit.movie_id == MOVIE_ID),
    )
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
    # Only with ``include_drafts``: published films alone, or drafts alone (the staff list).
    status: MovieStatus | None = None


# ---------------------------------------------------------------------------- listing films


async def list_movies(
    session: AsyncSession,
    search: SearchIndex,
    *,
    filters: MovieFilters,
    sort: MovieSort | None,
    paging: PageParams,
    include_drafts: bool,
    counts: Cache | None = None,
) -> Page[MovieSummary]:
    """A page of films. With ``counts``, the total of a filter set is kept there under the
    catalog's version token (``CatalogVersion``) and read back while the token holds."""
    genre_id, token = await _genre_and_token(session, filters.genre, counted=counts is not None)
    shape, values = _shape(filters, genre_id, include_drafts=include_drafts)
    if filters.q is not None:
        return await _search_list(session, search, filters.q, shape, values, sort, paging)
    sort = sort or MovieSort.POPULARITY_DESC
    walk = True
    if counts is not None and token is not None:
        total = await _cached_count(session, counts, token, shape, values)
        if any(name in MEMBERSHIP_FILTERS for name in shape[1]):
            films = await _cached_count(session, counts, token, (shape[0], ()), {})
            walk = _walk_pays(total, films, paging)
    else:
        total = await _count(session, shape, values)
    rows = await _page_read(shape, sort, walk).rows(
        session, **values, offset=paging.offset, limit=paging.page_size
    )
    items = [_summary(row) for row in rows]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


async def _search_list(
    session: AsyncSession,
    search: SearchIndex,
    q: str,
    shape: _Shape,
    values: dict[str, Any],
    sort: MovieSort | None,
    paging: PageParams,
) -> Page[MovieSummary]:
    """Films matching ``q`` among the filtered ones: at most SEARCH_WINDOW, cheap to count."""
    ranked = await search.search_movies(session, q, limit=SEARCH_WINDOW)
    if not ranked:
        return Page(items=[], total=0, page=paging.page, page_size=paging.page_size)
    conditions = _conditions(shape)
    conditions.plain.append(Movie.id.in_(ranked))
    counted = conditions.apply(select(func.count()).select_from(Movie), correlated=False)
    total = int(await session.scalar(counted, values) or 0)
    query = conditions.apply(select(Movie.id), correlated=True)
    if sort is None or sort is MovieSort.RELEVANCE:
        matching = set((await session.scalars(query, values)).all())
        page_ids = [movie_id for movie_id in ranked if movie_id in matching]
        page_ids = page_ids[paging.offset : paging.offset + paging.page_size]
        items = await movie_summaries(session, page_ids)
    else:
        ordered = _order(query.with_only_columns(*SUMMARY_COLUMNS), sort)
        page = ordered.offset(paging.offset).limit(paging.page_size)
        items = [_summary(tuple(row)) for row in await session.execute(page, values)]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


# A stored count is exact while its token holds; the expiry only frees what is no longer read.
COUNT_TTL_SECONDS = 24 * 3600
COUNT_KEY_PREFIX = "catalog-count"
SORT_COST = 4  # reading and sorting a matching film, in sort-index rows walked
# Which filters a list has, drafts included or not; their values are the query's parameters,
# so that each shape's queries are compiled once.
_Shape = tuple[bool, tuple[str, ...]]
PLAIN_FILTERS: dict[str, Callable[[Any], ColumnElement[bool]]] = {
    "status": lambda value: Movie.status == value,
    "year_from": lambda value: Movie.year >= value,
    "year_to": lambda value: Movie.year <= value,
    "age_rating": lambda value: Movie.age_rating == value,
}
MEMBERSHIP_FILTERS: dict[
    str, tuple[InstrumentedAttribute[int] | Column[Any], Callable[[Any], ColumnElement[bool]]]
] = {
    "genre_id": (movie_genres.c.movie_id, lambda value: movie_genres.c.genre_id == value),
    "country": (MovieCountry.movie_id, lambda value: MovieCountry.name == value),
    "language": (MovieLanguage.movie_id, lambda value: MovieLanguage.name == value),
    "person_id": (Credit.movie_id, lambda value: Credit.person_id == value),
}


def _shape(
    filters: MovieFilters, genre_id: int | None, *, include_drafts: bool
) -> tuple[_Shape, dict[str, Any]]:
    candidates = {
        "status": filters.status,
        "year_from": filters.year_from,
        "year_to": filters.year_to,
        "age_rating": filters.age_rating,
        "genre_id": genre_id,
        "country": filters.country,
        "language": filters.language,
        "person_id": filters.person_id,
    }
    values = {name: value for name, value in candidates.items() if value is not None}
    return (include_drafts, tuple(values)), values


async def _genre_and_token(
    session: AsyncSession, genre: str | None, *, counted: bool
) -> tuple[int | None, int | None]:
    """The genre's id (0 for an unknown one) and the catalog's version token, in one read."""
    if genre is None and not counted:
        return None, None
    values = {} if genre is None else {"genre_slug": slugify(genre), "genre_name": genre}
    [row] = await _genre_and_token_read(genre is not None, counted).rows(session, **values)
    genre_id = (row[0] or 0) if genre is not None else None
    return genre_id, (row[-1] if counted else None)


@functools.cache
def _genre_and_token_read(genre: bool, counted: bool) -> DriverRead:
    columns: list[Any] = []
    if genre:
        by_slug_or_name = (Genre.slug == bindparam("genre_slug")) | (
            Genre.name == bindparam("genre_name")
        )
        columns.append(select(Genre.id).where(by_slug_or_name).limit(1).scalar_subquery())
    if counted:
        columns.append(select(CatalogVersion.token).where(CatalogVersion.id == 1).scalar_subquery())
    return DriverRead(select(*columns))


def _walk_pays(matching: int, films: int, paging: PageParams) -> bool:
    """Whether a page is cheaper found by walking the sort order's index until enough films
    match (about ``films / matching`` rows read per film shown) than by reading every matching
    film from its link table and sorting them (a few times ``matching`` rows)."""
    shown = paging.offset + paging.page_size
    return shown * films < SORT_COST * matching * max(matching, 1)


async def _cached_count(
    session: AsyncSession, counts: Cache, token: int, shape: _Shape, values: dict[str, Any]
) -> int:
    key = f"{COUNT_KEY_PREFIX}:{token}:{shape[0]}:{sorted(values.items())!r}"
    stored = await counts.get(key)
    if stored is not None:
        return int(stored)
    total = await _count(session, shape, values)
    await counts.set(key, str(total).encode(), ttl_seconds=COUNT_TTL_SECONDS)
    return total


async def _count(session: AsyncSession, shape: _Shape, values: dict[str, Any]) -> int:
    if _counted_by_facets(shape):
        facet_value = next((str(values[name]) for name in shape[1] if name in FACETS), "")
        [(total,)] = await _facet_count_read(shape).rows(session, **values, value=facet_value)
    else:
        [(total,)] = await _count_read(shape).rows(session, **values)
    return int(total)


# Filters whose films ``movie_facet_counts`` counts, by its facet names; a list filtered by at
# most one of them (and status and years) is counted there, from a few hundred rows at most.
FACETS = {
    "genre_id": "genre",
    "country": "country",
    "language": "language",
    "age_rating": "age_rating",
}


def _counted_by_facets(shape: _Shape) -> bool:
    names = shape[1]
    return "person_id" not in names and sum(name in FACETS for name in names) <= 1


@functools.cache
def _facet_count_read(shape: _Shape) -> DriverRead:
    include_drafts, names = shape
    counts = MovieFacetCount
    facet = next((FACETS[name] for name in names if name in FACETS), "film")
    conditions = [counts.facet == facet, counts.value == bindparam("value", type_=String())]
    if not include_drafts:
        conditions.append(counts.status == MovieStatus.PUBLISHED.value)
    elif "status" in names:
        conditions.append(counts.status == bindparam("status", type_=String()))
    if "year_from" in names:
        conditions.append(counts.year >= bindparam("year_from"))
    if "year_to" in names:  # a film of unknown year (-1) is in no year range
        conditions += [counts.year <= bindparam("year_to"), counts.year >= 0]
    return DriverRead(select(func.coalesce(func.sum(counts.films), 0)).where(*conditions))


@functools.cache
def _count_read(shape: _Shape) -> DriverRead:
    counted = select(func.count()).select_from(Movie)
    return DriverRead(_conditions(shape).apply(counted, correlated=False))


@functools.cache
def _page_read(shape: _Shape, sort: MovieSort, walk: bool) -> DriverRead:
    query = _conditions(shape).apply(select(*SUMMARY_COLUMNS), correlated=walk)
    page = _order(query, sort).offset(bindparam("offset")).limit(bindparam("limit"))
    return DriverRead(page)


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


def _conditions(shape: _Shape) -> _Conditions:
    """The shape's filters, each value a parameter named after its filter."""
    include_drafts, names = shape
    plain: list[ColumnElement[bool]] = []
    if not include_drafts:
        plain.append(Movie.status == MovieStatus.PUBLISHED)
    plain += [PLAIN_FILTERS[name](bindparam(name)) for name in names if name in PLAIN_FILTERS]
    memberships = [
        (MEMBERSHIP_FILTERS[name][0], MEMBERSHIP_FILTERS[name][1](bindparam(name)))
        for name in names
        if name in MEMBERSHIP_FILTERS
    ]
    return _Conditions(plain, memberships)


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
    by_id: dict[int, MovieSummary] = {}
    for start in range(0, len(movie_ids), MAX_IDS_PER_READ):
        ids = movie_ids[start : start + MAX_IDS_PER_READ]
        parameters = {f"id_{number}": movie_id for number, movie_id in enumerate(ids)}
        for row in await _summaries_read(len(ids)).rows(session, **parameters):
            by_id[row[0]] = _summary(row)
    return [by_id[movie_id] for movie_id in movie_ids if movie_id in by_id]


MAX_IDS_PER_READ = 100  # a page's worth; longer lists are read in pieces


@functools.cache
def _summaries_read(count: int) -> DriverRead:
    ids = [bindparam(f"id_{number}", type_=BigInteger()) for number in range(count)]
    return DriverRead(select(*SUMMARY_COLUMNS).where(Movie.id.in_(ids)))


def _summary(row: tuple[Any, ...]) -> MovieSummary:
    """A summary from a row of SUMMARY_COLUMNS."""
    id_, slug, title, year, runtime, age_rating, status, access, popularity, rating, ratings = row[
        :11
    ]
    names = row[11]
    return MovieSummary(
        id=id_,
        slug=slug,
        title=title,
        year=year,
        runtime_minutes=runtime,
        age_rating=age_rating,
        status=status,
        access=access,
        popularity=popularity,
        rating_avg=rating,
        rating_count=ratings,
        genres=sorted(names.split(GENRE_SEPARATOR)) if names else [],
    )


# ---------------------------------------------------------------------------- one film


async def get_movie(session: AsyncSession, movie_id: int, *, include_drafts: bool) -> MovieRead:
    """The film with its genres, countries, languages and credits, in two reads."""
    found = await MOVIE_ROW.rows(session, movie_id=movie_id)
    movie = dict(zip(MOVIE_ROW_NAMES, found[0], strict=True)) if found else None
    if movie is None or (movie["status"] is MovieStatus.DRAFT and not include_drafts):
        raise NotFound(f"There is no film with id {movie_id}.")
    genres: list[GenreRead] = []
    places: dict[int, list[tuple[int, str]]] = {COUNTRY_PART: [], LANGUAGE_PART: []}
    credits: list[tuple[tuple[int, int, int], CreditRead]] = []
    for kind, position, key, name, slug, role, character, credit_id in await MOVIE_PARTS.rows(
        session, movie_id=movie_id
    ):
        if kind == GENRE_PART:
            genres.append(GenreRead(id=key, name=name, slug=slug))
        elif kind == CREDIT_PART:
            credit_role = CreditRole(role)
            person = PersonSummary(id=key, slug=slug, name=name)
            read = CreditRead(
                person=person, role=credit_role, character=character, position=position
            )
            credits.append(((CREDIT_ROLE_ORDER[credit_role], position, credit_id), read))
        else:
            places[kind].append((position, name))
    credits.sort(key=_first)
    return MovieRead(
        **movie,
        genres=sorted(genres, key=_by_name),
        countries=[name for _position, name in sorted(places[COUNTRY_PART])],
        languages=[name for _position, name in sorted(places[LANGUAGE_PART])],
        credits=[read for _order, read in credits],
    )


def _first(pair: tuple[tuple[int, int, int], CreditRead]) -> tuple[int, int, int]:
    return pair[0]


async def count_movies_by_status(session: AsyncSession) -> dict[str, int]:
    """How many films are published and how many are drafts, for the staff overview."""
    rows = await session.execute(select(Movie.status, func.count()).group_by(Movie.status))
    counts = {str(status): int(count) for status, count in rows}
    return {status.value: counts.get(status.value, 0) for status in MovieStatus}


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


def _by_name(genre: GenreRead) -> str:
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
        credits = await _credits(session, body.credits)
        # The old rows go first: a credit kept in the new list would otherwise be inserted
        # before its old row is deleted, against the unique (film, person, role).
        movie.credits = []
        await session.flush()
        movie.credits = credits
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


async def genre_usage(session: AsyncSession) -> list[GenreUsage]:
    """Every genre with how many films have it, drafts included, and how many of those are
    published: for the staff's list of genres."""
    published = func.count(Movie.id).filter(Movie.status == MovieStatus.PUBLISHED)
    rows = await session.execute(
        select(Genre.id, Genre.name, Genre.slug, func.count(Movie.id), published)
        .outerjoin(movie_genres, movie_genres.c.genre_id == Genre.id)
        .outerjoin(Movie, Movie.id == movie_genres.c.movie_id)
        .group_by(Genre.id, Genre.name, Genre.slug)
        .order_by(Genre.name)
    )
    return [
        GenreUsage(id=id_, name=name, slug=slug, films=int(films), published=int(shown))
        for id_, name, slug, films, shown in rows
    ]
