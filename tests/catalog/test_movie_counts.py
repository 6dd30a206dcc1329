"""A filtered list's total is kept in the cache under the catalog's version token: it must stay
exact after any change, made by this process or another, through the API or straight in the
tables, and a rolled-back change must leave no count behind."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from kino.app import create_app, dispose
from kino.catalog import service as catalog
from kino.catalog.service import MovieFilters
from kino.core.pagination import PageParams
from kino.identity.models import Role
from kino.settings import Settings
from tests.catalog.test_movies import create_movie
from tests.factories import SignedIn, make_user


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


@pytest.fixture
async def viewer(app: FastAPI) -> SignedIn:
    return await make_user(app)


async def total(client: httpx.AsyncClient, staff: SignedIn, **params: Any) -> int:
    # Signed in, so that the response cache answers nothing: the count is what is tested.
    response = await client.get("/api/v1/movies", params=params, headers=staff.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


async def test_a_counted_total_follows_changes_through_the_api(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    alien = await create_movie(client, manager, title="Alien", year=1979, genres=["Horror"])
    await create_movie(client, manager, title="The Thing", year=1982, genres=["Horror"])
    assert await total(client, manager, genre="horror") == 2
    assert await total(client, manager, genre="horror") == 2  # the stored count
    await create_movie(client, manager, title="Halloween", year=1978, genres=["Horror"])
    assert await total(client, manager, genre="horror") == 3
    changed = await client.patch(
        f"/api/v1/movies/{alien['id']}", json={"genres": ["Sci-Fi"]}, headers=manager.headers
    )
    assert changed.status_code == 200, changed.text
    assert await total(client, manager, genre="horror") == 2
    assert await total(client, manager, genre="sci-fi") == 1
    await client.delete(f"/api/v1/movies/{alien['id']}", headers=manager.headers)
    assert await total(client, manager, genre="sci-fi") == 0


async def test_a_counted_total_follows_changes_made_in_the_tables(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    film = await create_movie(
        client, manager, title="Amélie", year=2001, languages=["French"], countries=["France"]
    )
    assert await total(client, viewer, country="France") == 1
    assert await total(client, manager, year_from=2000) == 1
    assert await total(client, manager, language="French") == 1
    assert await total(client, manager, country="France") == 1
    async with app.state.db.transaction() as session:
        await session.execute(text("UPDATE movies SET year = 1999 WHERE id = :id"), film)
    assert await total(client, manager, year_from=2000) == 0
    async with app.state.db.transaction() as session:
        await session.execute(text("DELETE FROM movie_languages WHERE movie_id = :id"), film)
    assert await total(client, manager, language="French") == 0
    async with app.state.db.transaction() as session:
        await session.execute(text("UPDATE movies SET status = 'draft' WHERE id = :id"), film)
    assert await total(client, viewer, country="France") == 0
    assert await total(client, manager, country="France") == 1


async def test_a_count_made_by_another_process_is_not_trusted_after_a_change_here(
    settings: Settings, app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    """Two server processes, each with its own cache when embedded."""
    other = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as there:
            await create_movie(client, manager, title="Up", year=2009, genres=["Comedy"])
            assert await total(there, manager, genre="comedy") == 1
            await create_movie(client, manager, title="Big", year=1988, genres=["Comedy"])
            assert await total(there, manager, genre="comedy") == 2
            assert await total(client, manager, genre="comedy") == 2
    finally:
        await dispose(other)


async def test_a_count_read_in_a_rolled_back_change_is_never_served(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Heat", year=1995, genres=["Crime"])
    cache, search = app.state.cache, app.state.search

    async def crime_films() -> int:
        async with app.state.db.transaction() as session:
            page = await catalog.list_movies(
                session,
                search,
                filters=MovieFilters(genre="crime"),
                sort=None,
                paging=PageParams(),
                include_drafts=True,
                counts=cache,
            )
            return page.total

    assert await crime_films() == 1

    async with app.state.db.sessionmaker() as session:
        await session.execute(text("DELETE FROM movie_genres WHERE movie_id = :id"), film)
        uncommitted = await catalog.list_movies(
            session,
            search,
            filters=MovieFilters(genre="crime"),
            sort=None,
            paging=PageParams(),
            include_drafts=True,
            counts=cache,
        )
        assert uncommitted.total == 0
        await session.rollback()
    assert await crime_films() == 1
    await create_movie(client, manager, title="Thief", year=1981, genres=["Crime"])
    assert await crime_films() == 2
