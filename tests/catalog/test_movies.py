from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kino.catalog import service as catalog
from kino.catalog.models import MovieStatus
from kino.catalog.service import MovieFilters
from kino.core.pagination import PageParams
from kino.identity.models import Role
from tests.factories import SignedIn, make_user


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


@pytest.fixture
async def viewer(app: FastAPI) -> SignedIn:
    return await make_user(app)


async def create_person(client: httpx.AsyncClient, staff: SignedIn, name: str) -> int:
    response = await client.post("/api/v1/people", json={"name": name}, headers=staff.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def create_movie(client: httpx.AsyncClient, staff: SignedIn, **fields: Any) -> dict[str, Any]:
    body = {"title": "Untitled", "status": "published", **fields}
    response = await client.post("/api/v1/movies", json=body, headers=staff.headers)
    assert response.status_code == 201, response.text
    movie: dict[str, Any] = response.json()
    return movie


def titles(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


async def test_manager_creates_a_film_with_genres_countries_and_credits(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    director = await create_person(client, manager, "James Cameron")
    actor = await create_person(client, manager, "Linda Hamilton")
    movie = await create_movie(
        client,
        manager,
        title="The Terminator",
        year=1984,
        runtime_minutes=107,
        age_rating="R",
        genres=["Action", "Sci-Fi"],
        countries=["United Kingdom", "United States"],
        languages=["English", "Spanish"],
        credits=[
            {"person_id": actor, "role": "actor", "character": "Sarah Connor", "position": 1},
            {"person_id": director, "role": "director"},
        ],
    )
    assert movie["slug"] == "the-terminator"
    assert [genre["name"] for genre in movie["genres"]] == ["Action", "Sci-Fi"]
    assert movie["countries"] == ["United Kingdom", "United States"]
    assert movie["languages"] == ["English", "Spanish"]
    assert [(c["person"]["name"], c["role"]) for c in movie["credits"]] == [
        ("James Cameron", "director"),
        ("Linda Hamilton", "actor"),
    ]
    fetched = await client.get(f"/api/v1/movies/{movie['id']}")
    assert fetched.json()["credits"][1]["character"] == "Sarah Connor"


async def test_films_with_one_title_get_distinct_slugs(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    first = await create_movie(client, manager, title="Solaris", year=1972)
    second = await create_movie(client, manager, title="Solaris", year=2002)
    third = await create_movie(client, manager, title="Solaris", year=2002)
    assert [first["slug"], second["slug"], third["slug"]] == [
        "solaris",
        "solaris-2002",
        "solaris-2002-2",
    ]


async def test_viewers_see_published_films_only(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    await create_movie(client, manager, title="Released")
    draft = await create_movie(client, manager, title="Unreleased", status="draft")
    assert titles(await client.get("/api/v1/movies")) == ["Released"]
    assert titles(await client.get("/api/v1/movies", headers=viewer.headers)) == ["Released"]
    assert (await client.get(f"/api/v1/movies/{draft['id']}")).status_code == 404
    staff_view = await client.get(
        "/api/v1/movies", params={"sort": "title"}, headers=manager.headers
    )
    assert titles(staff_view) == ["Released", "Unreleased"]
    assert (await client.get(f"/api/v1/movies/{draft['id']}", headers=manager.headers)).is_success


async def test_manager_updates_and_deletes_a_film(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie = await create_movie(client, manager, title="Alien", year=1979, genres=["Horror"])
    updated = await client.patch(
        f"/api/v1/movies/{movie['id']}",
        json={"title": "Alien: Director's Cut", "genres": ["Horror", "Sci-Fi"], "synopsis": None},
        headers=manager.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["title"] == "Alien: Director's Cut"
    assert updated.json()["year"] == 1979
    assert [g["name"] for g in updated.json()["genres"]] == ["Horror", "Sci-Fi"]
    deleted = await client.delete(f"/api/v1/movies/{movie['id']}", headers=manager.headers)
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/movies/{movie['id']}")).status_code == 404


async def test_only_staff_change_the_catalog(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    movie = await create_movie(client, manager, title="Heat")
    anonymous = await client.post("/api/v1/movies", json={"title": "X"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    for method, url in [
        ("POST", "/api/v1/movies"),
        ("PATCH", f"/api/v1/movies/{movie['id']}"),
        ("DELETE", f"/api/v1/movies/{movie['id']}"),
        ("POST", "/api/v1/people"),
    ]:
        response = await client.request(method, url, json={"title": "X"}, headers=viewer.headers)
        assert response.status_code == 403, (method, url)
        assert response.json()["error"]["code"] == "forbidden"
    assert (await client.get(f"/api/v1/movies/{movie['id']}")).json()["title"] == "Heat"


async def test_filters_narrow_the_list(client: httpx.AsyncClient, manager: SignedIn) -> None:
    cameron = await create_person(client, manager, "James Cameron")
    await create_movie(
        client,
        manager,
        title="Aliens",
        year=1986,
        age_rating="R",
        genres=["Action", "Sci-Fi"],
        countries=["United States"],
        languages=["English"],
        credits=[{"person_id": cameron, "role": "director"}],
    )
    await create_movie(
        client,
        manager,
        title="Amélie",
        year=2001,
        age_rating="R",
        genres=["Comedy"],
        countries=["France"],
        languages=["French"],
    )
    await create_movie(client, manager, title="Up", year=2009, age_rating="PG", genres=["Comedy"])

    async def matching(**params: Any) -> list[str]:
        return sorted(titles(await client.get("/api/v1/movies", params=params)))

    assert await matching(genre="comedy") == ["Amélie", "Up"]
    assert await matching(genre="Sci-Fi") == ["Aliens"]
    assert await matching(genre="western") == []
    assert await matching(year_from=2000) == ["Amélie", "Up"]
    assert await matching(year_from=1990, year_to=2005) == ["Amélie"]
    assert await matching(country="France") == ["Amélie"]
    assert await matching(language="English") == ["Aliens"]
    assert await matching(age_rating="PG") == ["Up"]
    assert await matching(person_id=cameron) == ["Aliens"]
    assert await matching(genre="comedy", age_rating="R") == ["Amélie"]


async def test_sorts_order_the_list(client: httpx.AsyncClient, manager: SignedIn) -> None:
    await create_movie(client, manager, title="The Matrix", year=1999)
    await create_movie(client, manager, title="Brazil", year=1985)
    await create_movie(client, manager, title="Casablanca", year=1942)
    await create_movie(client, manager, title="Undated")

    async def ordered(sort: str) -> list[str]:
        return titles(await client.get("/api/v1/movies", params={"sort": sort}))

    assert await ordered("title") == ["Brazil", "Casablanca", "The Matrix", "Undated"]
    assert await ordered("-year") == ["The Matrix", "Brazil", "Casablanca", "Undated"]
    assert await ordered("-created_at") == ["Undated", "Casablanca", "Brazil", "The Matrix"]
    bad = await client.get("/api/v1/movies", params={"sort": "year; DROP TABLE movies"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "sort"


async def test_lists_are_paged(client: httpx.AsyncClient, manager: SignedIn) -> None:
    for number in range(5):
        await create_movie(client, manager, title=f"Film {number}")
    first = await client.get("/api/v1/movies", params={"sort": "title", "page_size": 2})
    third = await client.get("/api/v1/movies", params={"sort": "title", "page_size": 2, "page": 3})
    assert first.json() | {"items": None} == {
        "items": None,
        "total": 5,
        "page": 1,
        "page_size": 2,
    }
    assert titles(first) == ["Film 0", "Film 1"]
    assert titles(third) == ["Film 4"]
    for params in ({"page_size": 101}, {"page_size": 0}, {"page": 0}, {"page": "x"}):
        response = await client.get("/api/v1/movies", params=params)
        assert response.status_code == 422, params


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "Ok", "year": "nineteen"}, "year"),
        ({"title": "Ok", "year": 10**12}, "year"),
        ({"title": "Ok", "status": "secret"}, "status"),
        (
            {"title": "Ok", "credits": [{"person_id": 2**70, "role": "actor"}]},
            "credits.0.person_id",
        ),
        ({"title": "Ok", "unknown": 1}, "unknown"),
        ({"title": ["a list"]}, "title"),
    ],
)
async def test_bad_film_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, manager: SignedIn, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/movies", json=body, headers=manager.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == field


async def test_malformed_json_is_a_422(client: httpx.AsyncClient, manager: SignedIn) -> None:
    response = await client.post(
        "/api/v1/movies",
        content=b'{"title": "Broken',
        headers={**manager.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["error"]["message"]


async def test_credits_must_name_existing_people(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    response = await client.post(
        "/api/v1/movies",
        json={"title": "Ghost", "credits": [{"person_id": 424242, "role": "actor"}]},
        headers=manager.headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["person_ids"] == [424242]
    assert (await client.get("/api/v1/movies", headers=manager.headers)).json()["total"] == 0


async def test_absurd_ids_and_queries_are_4xx_not_500(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/api/v1/movies/{10**30}")).status_code == 422
    assert (await client.get("/api/v1/movies/-1")).status_code == 422
    assert (await client.get("/api/v1/movies/../etc/passwd")).status_code == 404
    assert (await client.get("/api/v1/movies/999999")).status_code == 404
    huge = await client.get("/api/v1/movies", params={"q": "x" * 60_000})
    assert huge.status_code in (414, 422, 431)
    tricky = await client.get("/api/v1/movies", params={"country": "' OR 1=1 --"})
    assert tricky.status_code == 200
    assert tricky.json()["total"] == 0


async def test_genres_are_listed_by_name(client: httpx.AsyncClient, manager: SignedIn) -> None:
    await create_movie(client, manager, title="A", genres=["Western", "Drama"])
    await create_movie(client, manager, title="B", genres=["drama"])
    genres = (await client.get("/api/v1/genres")).json()
    assert [(genre["name"], genre["slug"]) for genre in genres] == [
        ("Drama", "drama"),
        ("Western", "western"),
    ]


async def test_genre_usage_counts_every_film_and_the_published_ones(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await create_movie(client, manager, title="A", genres=["Western", "Drama"])
    await create_movie(client, manager, title="B", genres=["Drama"], status="draft")
    film = await create_movie(client, manager, title="C", genres=["Noir"])
    await client.patch(f"/api/v1/movies/{film['id']}", json={"genres": []}, headers=manager.headers)

    async with app.state.db.transaction() as session:
        usage = await catalog.genre_usage(session)

    assert [(g.name, g.films, g.published) for g in usage] == [
        ("Drama", 2, 1),
        ("Noir", 0, 0),
        ("Western", 1, 1),
    ]


async def test_staff_lists_narrow_to_drafts_or_published_films(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await create_movie(client, manager, title="Out Now")
    await create_movie(client, manager, title="Coming", status="draft")
    paging = PageParams(page=1, page_size=10)

    async with app.state.db.transaction() as session:
        found = {
            status: await catalog.list_movies(
                session,
                app.state.search,
                filters=MovieFilters(status=status),
                sort=None,
                paging=paging,
                include_drafts=True,
            )
            for status in MovieStatus
        }

    assert [m.title for m in found[MovieStatus.DRAFT].items] == ["Coming"]
    assert [m.title for m in found[MovieStatus.PUBLISHED].items] == ["Out Now"]


async def test_a_credit_list_that_keeps_a_credit_replaces_the_rest(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    director = await create_person(client, manager, "Agnès Varda")
    actor = await create_person(client, manager, "Mads Mikkelsen")
    movie = await create_movie(
        client, manager, credits=[{"person_id": director, "role": "director"}]
    )
    credits = [
        {"person_id": director, "role": "director", "position": 2},
        {"person_id": actor, "role": "actor", "character": "The keeper"},
    ]

    response = await client.patch(
        f"/api/v1/movies/{movie['id']}", json={"credits": credits}, headers=manager.headers
    )

    assert response.status_code == 200, response.text
    kept = [(c["person"]["id"], c["role"], c["position"]) for c in response.json()["credits"]]
    assert kept == [(director, "director", 2), (actor, "actor", 0)]
