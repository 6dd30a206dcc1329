"""The staff's film pages: the table, the form for every field, credits and deleting, each through
the catalog service (so the public catalog, its search and its cache follow)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kino.identity.models import Role
from tests.boxoffice.conftest import create_cinema, create_hall, create_showtime, tomorrow_at
from tests.factories import SignedIn, make_user
from tests.web.conftest import create_movie, create_person, csrf_token, flash_of, post_form, sign_in

FILM = {
    "title": "The Lighthouse Keeper",
    "original_title": "Fyrvogteren",
    "year": "2021",
    "release_date": "2021-09-30",
    "runtime_minutes": "104",
    "synopsis": "A keeper alone on a rock keeps a lamp lit.",
    "age_rating": "PG-13",
    "access": "subscription",
    "status": "published",
    "countries": "Denmark, Norway",
    "languages": "Danish",
    "new_genres": "Sea Drama",
}


async def _film(client: httpx.AsyncClient, movie_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/movies/{movie_id}")
    assert response.status_code == 200, response.text
    film: dict[str, Any] = response.json()
    return film


def _edited_id(response: httpx.Response) -> int:
    match = re.fullmatch(r"/admin/movies/(\d+)/edit", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def test_a_manager_creates_a_film_with_every_field(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await create_movie(client, manager, title="Other", genres=["Mystery"])
    await sign_in(client, manager)

    form = await client.get("/admin/movies/new")
    assert form.status_code == 200
    assert 'name="genres" value="Mystery"' in form.text
    created = await client.post(
        "/admin/movies/new",
        data={"csrf_token": await csrf_token(client, "/admin/movies/new"), **FILM}
        | {"genres": ["Mystery"]},
    )

    assert created.status_code == 303
    film = await _film(client, _edited_id(created))
    assert film["title"] == "The Lighthouse Keeper"
    assert (film["original_title"], film["year"], film["release_date"]) == (
        "Fyrvogteren",
        2021,
        "2021-09-30",
    )
    assert (film["runtime_minutes"], film["age_rating"]) == (104, "PG-13")
    assert (film["access"], film["status"]) == ("subscription", "published")
    assert film["countries"] == ["Denmark", "Norway"]
    assert film["languages"] == ["Danish"]
    assert sorted(genre["name"] for genre in film["genres"]) == ["Mystery", "Sea Drama"]
    page = await client.get(created.headers["location"])
    assert flash_of(page) == "The film is created."
    assert 'value="Fyrvogteren"' in page.text
    assert f'href="/admin/movies/{film["id"]}/media"' in page.text
    assert f'href="/movies/{film["id"]}"' in page.text


async def test_a_published_film_is_in_the_public_catalog_and_a_draft_is_not(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, manager: SignedIn
) -> None:
    await sign_in(client, manager)
    # A signed-out visitor's reads are cached: the staff's change must start a new generation.
    assert (await browser.get("/api/v1/movies", params={"q": "lighthouse"})).json()["total"] == 0

    draft = await post_form(client, "/admin/movies/new", {**FILM, "status": "draft"})
    movie_id = _edited_id(draft)

    assert (await browser.get("/api/v1/movies", params={"q": "lighthouse"})).json()["total"] == 0
    assert (await browser.get(f"/movies/{movie_id}")).status_code == 404
    edited = await post_form(client, f"/admin/movies/{movie_id}/edit", FILM)
    assert edited.status_code == 303
    found = (await browser.get("/api/v1/movies", params={"q": "lighthouse"})).json()
    assert [item["id"] for item in found["items"]] == [movie_id]
    assert (await browser.get(f"/movies/{movie_id}")).status_code == 200
    assert (
        "The Lighthouse Keeper" in (await browser.get("/search", params={"q": "lihgthouse"})).text
    )


async def test_editing_changes_and_clears_fields(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await create_movie(
        client, manager, title="Salt", year=1999, synopsis="Sea.", genres=["Drama", "Mystery"]
    )
    await sign_in(client, manager)
    page = await client.get(f"/admin/movies/{movie_id}/edit")
    assert re.search(r'value="Drama" checked', page.text)

    saved = await post_form(
        client,
        f"/admin/movies/{movie_id}/edit",
        {"title": "Salt and Sea", "status": "draft", "access": "rental", "genres": "Mystery"},
    )

    assert (saved.status_code, saved.headers["location"]) == (
        303,
        f"/admin/movies/{movie_id}/edit",
    )
    film = await _film(client, movie_id)
    assert (film["title"], film["year"], film["synopsis"]) == ("Salt and Sea", None, None)
    assert (film["status"], film["access"]) == ("draft", "rental")
    assert [genre["name"] for genre in film["genres"]] == ["Mystery"]


@pytest.mark.parametrize(
    ("changes", "error_field"),
    [
        ({"title": "  "}, "title"),
        ({"year": "nineteen"}, "year"),
        ({"year": "1700"}, "year"),
        ({"release_date": "30/09/2021"}, "release_date"),
        ({"runtime_minutes": "0"}, "runtime_minutes"),
        ({"status": "archived"}, "status"),
        ({"access": "everyone"}, "access"),
        ({"countries": "x" * 101}, "countries"),
    ],
)
async def test_bad_input_shows_the_reason_keeps_the_entries_and_changes_nothing(
    client: httpx.AsyncClient, manager: SignedIn, changes: dict[str, str], error_field: str
) -> None:
    movie_id = await create_movie(client, manager, title="Salt", year=1999)
    await sign_in(client, manager)

    edited = await post_form(client, f"/admin/movies/{movie_id}/edit", {**FILM, **changes})
    created = await post_form(client, "/admin/movies/new", {**FILM, **changes})

    for response in (edited, created):
        assert response.status_code == 422
        assert f'id="error-{error_field}"' in response.text
        assert 'value="Fyrvogteren"' in response.text  # what was typed is still there
    film = await _film(client, movie_id)
    assert (film["title"], film["year"]) == ("Salt", 1999)
    assert (await client.get("/api/v1/movies")).json()["total"] == 1


async def test_the_reasons_are_in_words(client: httpx.AsyncClient, manager: SignedIn) -> None:
    await sign_in(client, manager)

    response = await post_form(
        client, "/admin/movies/new", {**FILM, "year": "nineteen", "release_date": "2021-02-30"}
    )

    assert '<span class="error" id="error-year">Enter a whole number.</span>' in response.text
    assert "Enter a date, such as 2021-09-30." in response.text


async def test_the_table_searches_filters_and_pages(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    for number in range(27):
        await create_movie(client, manager, title=f"Film {number:02d}", status="published")
    await create_movie(client, manager, title="Northern Lights", status="draft", genres=["Drama"])
    await sign_in(client, manager)

    first = await client.get("/admin/movies")
    second = await client.get("/admin/movies", params={"page": 2})
    drafts = await client.get("/admin/movies", params={"status": "draft"})
    found = await client.get("/admin/movies", params={"q": "nothern"})
    dramas = await client.get("/admin/movies", params={"genre": "drama", "status": ""})

    assert "28 films" in first.text
    assert first.text.count('<th scope="row"') == 25
    assert second.text.count('<th scope="row"') == 3
    for page in (drafts, found, dramas):
        assert page.text.count('<th scope="row"') == 1
        assert "Northern Lights" in page.text
        assert '<span class="status status-draft">Draft</span>' in page.text


@pytest.mark.parametrize(
    "query",
    [{"status": "archived"}, {"sort": "sideways"}, {"page": "0"}, {"page": "x"}, {"q": "x" * 201}],
)
async def test_bad_query_values_are_a_4xx_page(
    client: httpx.AsyncClient, manager: SignedIn, query: dict[str, str]
) -> None:
    await sign_in(client, manager)

    response = await client.get("/admin/movies", params=query)

    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/movies/999/edit",
        "/admin/movies/999/delete",
        "/admin/movies/0/edit",
        "/admin/movies/x/edit",
    ],
)
async def test_bad_film_ids_are_the_404_page(
    client: httpx.AsyncClient, manager: SignedIn, path: str
) -> None:
    await sign_in(client, manager)

    response = await client.get(path)

    assert response.status_code == 404
    assert "Not found" in response.text


async def test_credits_are_added_by_choosing_a_person_and_removed(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await create_movie(client, manager, title="Salt")
    varda = await create_person(client, manager, "Agnès Varda")
    await create_person(client, manager, "Agnes Obel")
    mads = await create_person(client, manager, "Mads Mikkelsen")
    await sign_in(client, manager)
    credits = f"/admin/movies/{movie_id}/credits"

    choices = await client.get("/admin/movies/people-choices", params={"person": "agnes"})
    assert f'value="{varda}"' in choices.text
    chosen = await post_form(
        client, credits, {"person": "agnes", "person_id": varda, "role": "director"}
    )
    typed = await post_form(
        client, credits, {"person": "mads mikkelsen", "role": "actor", "character": "The keeper"}
    )
    ambiguous = await post_form(client, credits, {"person": "Agnes", "role": "writer"})
    nobody = await post_form(client, credits, {"person": "Nobody Known", "role": "writer"})
    twice = await post_form(client, credits, {"person_id": varda, "role": "director"})

    assert chosen.status_code == typed.status_code == 303
    assert chosen.headers["location"] == f"/admin/movies/{movie_id}/edit#credits"
    for refused in (ambiguous, nobody, twice):
        assert refused.status_code == 422
        assert 'id="error-person"' in refused.text
    film = await _film(client, movie_id)
    assert [(c["person"]["id"], c["role"], c["character"]) for c in film["credits"]] == [
        (varda, "director", None),
        (mads, "actor", "The keeper"),
    ]
    removed = await post_form(client, f"{credits}/remove", {"person_id": varda, "role": "director"})
    assert removed.status_code == 303
    assert [c["person"]["id"] for c in (await _film(client, movie_id))["credits"]] == [mads]
    assert flash_of(await client.get(f"/admin/movies/{movie_id}/edit")) == "The credit is removed."


async def test_a_film_is_deleted_after_the_confirmation(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await create_movie(client, manager, title="Salt")
    await sign_in(client, manager)

    confirm = await client.get(f"/admin/movies/{movie_id}/delete")
    assert confirm.status_code == 200
    assert "Delete “Salt”?" in confirm.text
    deleted = await post_form(client, f"/admin/movies/{movie_id}/delete")

    assert (deleted.status_code, deleted.headers["location"]) == (303, "/admin/movies")
    assert (await client.get(f"/api/v1/movies/{movie_id}")).status_code == 404
    assert flash_of(await client.get("/admin/movies")) == "The film is deleted."


async def test_a_film_with_showtimes_is_kept_with_the_reason(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await create_movie(client, manager, title="Salt", runtime_minutes=95)
    await _schedule(client, manager, movie_id)
    await sign_in(client, manager)

    response = await post_form(client, f"/admin/movies/{movie_id}/delete")

    assert response.status_code == 409
    assert "has showtimes in cinemas" in response.text
    assert (await _film(client, movie_id))["title"] == "Salt"
    found = await client.get("/api/v1/movies", params={"q": "salt"})
    assert found.json()["total"] == 1  # still in the search index


async def _schedule(client: httpx.AsyncClient, staff: SignedIn, movie_id: int) -> None:
    cinema = await create_cinema(client, staff)
    hall = await create_hall(client, staff, cinema["id"])
    await create_showtime(client, staff, movie_id, hall["id"], tomorrow_at(20))


async def test_a_post_without_the_csrf_token_changes_nothing(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await create_movie(client, manager, title="Salt")
    await sign_in(client, manager)

    for path in (f"/admin/movies/{movie_id}/edit", f"/admin/movies/{movie_id}/delete"):
        response = await client.post(path, data={**FILM, "csrf_token": "forged"})
        assert response.status_code == 403

    assert (await _film(client, movie_id))["title"] == "Salt"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MODERATOR])
async def test_only_staff_open_or_post_the_film_pages(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, role: Role
) -> None:
    movie_id = await create_movie(client, manager, title="Salt")
    await sign_in(client, await make_user(app, role=role))

    for path in ("/admin/movies", "/admin/movies/new", f"/admin/movies/{movie_id}/edit"):
        assert (await client.get(path)).status_code == 403
    refused = await post_form(client, f"/admin/movies/{movie_id}/delete")

    assert refused.status_code == 403
    assert (await _film(client, movie_id))["title"] == "Salt"


async def test_a_signed_out_visitor_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/movies/new")

    assert (response.status_code, response.headers["location"]) == (
        303,
        "/login?next=/admin/movies/new",
    )
