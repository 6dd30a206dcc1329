"""Catalog endpoints: movies, people, genres. Parse, authorize, call the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kino.catalog import service
from kino.catalog.schemas import (
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
from kino.catalog.search.dependencies import Search
from kino.catalog.service import MovieFilters, MovieSort
from kino.community import service as community
from kino.core.http import MAX_ID, AppCache, DbSession, IdPath
from kino.core.pagination import Page, Paging
from kino.identity.dependencies import OptionalUser, StaffUser, is_staff

router = APIRouter(tags=["catalog"])

SearchText = Annotated[str | None, Query(min_length=1, max_length=200)]
FilterText = Annotated[str | None, Query(min_length=1, max_length=100)]
YearQuery = Annotated[int | None, Query(ge=1870, le=2100)]


@router.get("/movies")
async def list_movies(
    session: DbSession,
    search: Search,
    user: OptionalUser,
    paging: Paging,
    counts: AppCache,
    genre: FilterText = None,
    year_from: YearQuery = None,
    year_to: YearQuery = None,
    country: FilterText = None,
    language: FilterText = None,
    age_rating: Annotated[str | None, Query(min_length=1, max_length=16)] = None,
    person_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    q: SearchText = None,
    sort: MovieSort | None = None,
) -> Page[MovieSummary]:
    """Films, filtered and sorted. With ``q`` and no ``sort``, the best matches come first."""
    filters = MovieFilters(
        genre=genre,
        year_from=year_from,
        year_to=year_to,
        country=country,
        language=language,
        age_rating=age_rating,
        person_id=person_id,
        q=q,
    )
    return await service.list_movies(
        session,
        search,
        filters=filters,
        sort=sort,
        paging=paging,
        include_drafts=is_staff(user),
        counts=counts,
    )


@router.get("/movies/{movie_id}")
async def get_movie(movie_id: IdPath, session: DbSession, user: OptionalUser) -> MovieRead:
    """A film; for a signed-in caller also ``liked``, ``my_rating`` and ``favorite``."""
    movie = await service.get_movie(session, movie_id, include_drafts=is_staff(user))
    if user is None:
        return movie
    mine = await community.viewer_state(session, user, movie_id)
    return movie.model_copy(update=mine.model_dump())


@router.post("/movies", status_code=status.HTTP_201_CREATED)
async def create_movie(
    body: MovieCreate, session: DbSession, search: Search, _staff: StaffUser
) -> MovieRead:
    return await service.create_movie(session, search, body)


@router.patch("/movies/{movie_id}")
async def update_movie(
    movie_id: IdPath, body: MovieUpdate, session: DbSession, search: Search, _staff: StaffUser
) -> MovieRead:
    return await service.update_movie(session, search, movie_id, body)


@router.delete("/movies/{movie_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_movie(
    movie_id: IdPath, session: DbSession, search: Search, _staff: StaffUser
) -> Response:
    await service.delete_movie(session, search, movie_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/people")
async def list_people(
    session: DbSession, search: Search, paging: Paging, q: SearchText = None
) -> Page[PersonSummary]:
    return await service.list_people(session, search, q=q, paging=paging)


@router.get("/people/{person_id}")
async def get_person(person_id: IdPath, session: DbSession, user: OptionalUser) -> PersonRead:
    """A person with their filmography (published films only, unless the caller is staff)."""
    return await service.get_person(session, person_id, include_drafts=is_staff(user))


@router.post("/people", status_code=status.HTTP_201_CREATED)
async def create_person(
    body: PersonCreate, session: DbSession, search: Search, _staff: StaffUser
) -> PersonRead:
    return await service.create_person(session, search, body)


@router.patch("/people/{person_id}")
async def update_person(
    person_id: IdPath, body: PersonUpdate, session: DbSession, search: Search, _staff: StaffUser
) -> PersonRead:
    return await service.update_person(session, search, person_id, body)


@router.delete("/people/{person_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_person(
    person_id: IdPath, session: DbSession, search: Search, _staff: StaffUser
) -> Response:
    await service.delete_person(session, search, person_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/genres")
async def list_genres(session: DbSession) -> list[GenreRead]:
    return await service.list_genres(session)
