"""``movie_facet_counts`` is kept by triggers: after any change to the films and their genres,
countries and languages (through the API, or straight in the tables) it holds exactly what
counting the films afresh gives."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from kino.catalog import service as catalog
from kino.catalog.models import MovieStatus
from kino.catalog.seed import FilmRecord, load_films
from kino.catalog.service import MovieFilters
from kino.core.pagination import PageParams
from kino.identity.models import Role
from tests.catalog.test_movies import create_movie
from tests.factories import SignedIn, make_user

Key = tuple[str, str, str, int]

# What the triggers keep, counted from the films themselves.
FROM_SCRATCH = """
SELECT 'film', '', status, COALESCE(year, -1) FROM movies
UNION ALL SELECT 'age_rating', age_rating, status, COALESCE(year, -1) FROM movies
    WHERE age_rating IS NOT NULL
UNION ALL SELECT 'genre', CAST(g.genre_id AS TEXT), m.status, COALESCE(m.year, -1)
    FROM movie_genres AS g JOIN movies AS m ON m.id = g.movie_id
UNION ALL SELECT 'country', c.name, m.status, COALESCE(m.year, -1)
    FROM movie_countries AS c JOIN movies AS m ON m.id = c.movie_id
UNION ALL SELECT 'language', l.name, m.status, COALESCE(m.year, -1)
    FROM movie_languages AS l JOIN movies AS m ON m.id = l.movie_id
"""


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


async def facet_counts(app: FastAPI) -> tuple[Counter[Key], Counter[Key]]:
    """(what the table holds, what counting afresh gives), both without zero rows."""
    async with app.state.db.transaction() as session:
        kept = Counter(
            {
                (facet, value, status, year): films
                for facet, value, status, year, films in await session.execute(
                    text("SELECT facet, value, status, year, films FROM movie_facet_counts")
                )
                if films
            }
        )
        counted = Counter(tuple(row) for row in await session.execute(text(FROM_SCRATCH)))
    return kept, counted


async def sql(app: FastAPI, statement: str, **values: object) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(text(statement), values)


async def test_facet_counts_follow_films_made_changed_and_deleted_through_the_api(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    alien = await create_movie(
        client,
        manager,
        title="Alien",
        year=1979,
        age_rating="R",
        genres=["Horror", "Sci-Fi"],
        countries=["United Kingdom", "United States"],
        languages=["English"],
    )
    await create_movie(client, manager, title="Heat", year=1995, genres=["Crime"], status="draft")
    await create_movie(client, manager, title="Undated", genres=["Horror"], languages=["French"])
    kept, counted = await facet_counts(app)
    assert kept == counted
    assert kept[("genre", str(await genre_id(app, "Horror")), "published", 1979)] == 1
    assert kept[("film", "", "published", -1)] == 1

    changes = [
        {"genres": ["Horror"], "countries": ["France"], "year": 1980},
        {"status": "draft", "age_rating": "PG-13"},
        {"languages": ["English", "German"], "age_rating": None, "year": None},
    ]
    for change in changes:
        response = await client.patch(
            f"/api/v1/movies/{alien['id']}", json=change, headers=manager.headers
        )
        assert response.status_code == 200, response.text
        kept, counted = await facet_counts(app)
        assert kept == counted, change

    deleted = await client.delete(f"/api/v1/movies/{alien['id']}", headers=manager.headers)
    assert deleted.status_code == 204, deleted.text
    kept, counted = await facet_counts(app)
    assert kept == counted
    assert ("language", "German", "draft", -1) not in kept


async def test_facet_counts_follow_changes_made_in_the_tables(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(
        client, manager, title="Amélie", year=2001, genres=["Comedy"], countries=["France"]
    )
    other = await create_movie(client, manager, title="Delicatessen", year=1991)
    statements = [
        "UPDATE movies SET year = 1999, status = 'draft' WHERE id = :id",
        "UPDATE movie_countries SET name = 'Belgium' WHERE movie_id = :id",
        "UPDATE movie_countries SET position = 3 WHERE movie_id = :id",
        "UPDATE movie_countries SET movie_id = :other WHERE movie_id = :id",
        "INSERT INTO movie_languages (movie_id, name, position) VALUES (:id, 'French', 0)",
        "UPDATE movies SET popularity = popularity + 1 WHERE id = :id",
        "DELETE FROM movie_genres WHERE movie_id = :id",
        "DELETE FROM genres WHERE name = 'Comedy'",
        "DELETE FROM movies WHERE id = :other",
        "DELETE FROM movies",
    ]
    for statement in statements:
        await sql(app, statement, id=film["id"], other=other["id"])
        kept, counted = await facet_counts(app)
        assert kept == counted, statement
    assert kept == Counter()


async def test_facet_counts_follow_a_bulk_seed(app: FastAPI) -> None:
    films = [
        FilmRecord(
            external_id=f"bulk-{number}",
            title=f"Bulk {number}",
            year=1950 + number % 7,
            age_rating=("G", "R", None)[number % 3],
            genres=(("Drama",), ("Drama", "War"), ())[number % 3],
            countries=("Italy",) if number % 2 else ("Italy", "Spain"),
            languages=("Italian",),
        )
        for number in range(60)
    ]
    report = await load_films(
        app.state.db, lambda _known: iter(films), search_index=app.state.search
    )
    assert report.films == 60
    kept, counted = await facet_counts(app)
    assert kept == counted
    assert sum(films for (facet, *_), films in kept.items() if facet == "film") == 60


async def genre_id(app: FastAPI, name: str) -> int:
    async with app.state.db.transaction() as session:
        found = await session.scalar(
            text("SELECT id FROM genres WHERE name = :name"), {"name": name}
        )
    assert found is not None
    return int(found)


@pytest.mark.parametrize(
    "filters",
    [
        MovieFilters(),
        MovieFilters(year_to=1990),
        MovieFilters(year_from=1980, year_to=2000),
        MovieFilters(genre="drama", year_to=1990),
        MovieFilters(country="Italy", year_from=1985),
        MovieFilters(language="Italian"),
        MovieFilters(age_rating="R", year_to=2010),
        MovieFilters(genre="drama", country="Italy"),  # two facets: counted from the films
    ],
)
async def test_a_total_counted_from_facets_is_the_number_of_films_listed(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, filters: MovieFilters
) -> None:
    for number, year in enumerate((1975, 1985, 1995, 2005, None)):
        for status in ("published", "draft"):
            await create_movie(
                client,
                manager,
                title=f"Film {number} {status}",
                year=year,
                status=status,
                age_rating="R" if number % 2 else None,
                genres=["Drama"] if number != 2 else ["Comedy"],
                countries=["Italy"] if number < 3 else [],
                languages=["Italian"] if number > 1 else [],
            )
    for include_drafts, status in ((False, None), (True, None), *((True, s) for s in MovieStatus)):
        async with app.state.db.transaction() as session:
            page = await catalog.list_movies(
                session,
                app.state.search,
                filters=replace(filters, status=status),
                sort=None,
                paging=PageParams(page_size=100),
                include_drafts=include_drafts,
            )
        assert page.total == len(page.items) > 0, (include_drafts, status)
