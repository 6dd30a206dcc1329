"""The staff's people pages (find, add, edit, delete) and the genres page."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from kino.identity.models import Role
from tests.factories import SignedIn, make_user
from tests.web.conftest import create_movie, create_person, flash_of, post_form, sign_in


async def _person(client: httpx.AsyncClient, person_id: int) -> httpx.Response:
    return await client.get(f"/api/v1/people/{person_id}")


async def test_people_are_added_found_edited_and_deleted(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await sign_in(client, manager)

    added = await post_form(
        client, "/admin/people/new", {"name": "Agnès Varda", "bio": "Photographer first."}
    )
    match = re.fullmatch(r"/admin/people/(\d+)/edit", added.headers["location"])
    assert match
    person_id = int(match.group(1))
    assert flash_of(await client.get(added.headers["location"])) == "The person is added."
    found = await client.get("/admin/people", params={"q": "agnes"})
    assert f'href="/admin/people/{person_id}/edit"' in found.text
    saved = await post_form(
        client, f"/admin/people/{person_id}/edit", {"name": "Agnès Varda", "bio": ""}
    )
    assert saved.status_code == 303
    assert (await _person(client, person_id)).json()["bio"] is None
    deleted = await post_form(client, f"/admin/people/{person_id}/delete")
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/admin/people")
    assert (await _person(client, person_id)).status_code == 404
    assert flash_of(await client.get("/admin/people")) == "The person is deleted."


async def test_a_bad_name_shows_the_reason_and_changes_nothing(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    person_id = await create_person(client, manager, "Agnès Varda")
    await sign_in(client, manager)

    edited = await post_form(
        client, f"/admin/people/{person_id}/edit", {"name": " ", "bio": "Kept in the form."}
    )
    created = await post_form(client, "/admin/people/new", {"name": "x" * 301, "bio": ""})

    for response in (edited, created):
        assert response.status_code == 422
        assert 'id="error-name"' in response.text
    assert "Kept in the form." in edited.text
    assert (await _person(client, person_id)).json()["name"] == "Agnès Varda"
    assert (await client.get("/api/v1/people")).json()["total"] == 1


async def test_deleting_a_credited_person_says_which_films_lose_the_credit(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    person_id = await create_person(client, manager, "Agnès Varda")
    credit = [{"person_id": person_id, "role": "director"}]
    movie_id = await create_movie(client, manager, title="Cléo from 5 to 7", credits=credit)
    await sign_in(client, manager)

    confirm = await client.get(f"/admin/people/{person_id}/delete")
    assert "credited in 1 film" in confirm.text
    assert "Cléo from 5 to 7" in confirm.text
    await post_form(client, f"/admin/people/{person_id}/delete")

    film = (await client.get(f"/api/v1/movies/{movie_id}")).json()
    assert film["credits"] == []


@pytest.mark.parametrize(
    "path", ["/admin/people/999/edit", "/admin/people/999/delete", "/admin/people/-1/edit"]
)
async def test_bad_person_ids_are_the_404_page(
    client: httpx.AsyncClient, manager: SignedIn, path: str
) -> None:
    await sign_in(client, manager)

    response = await client.get(path)

    assert response.status_code == 404
    assert "Not found" in response.text


async def test_a_post_without_the_csrf_token_changes_nothing(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    person_id = await create_person(client, manager, "Agnès Varda")
    await sign_in(client, manager)

    response = await client.post(f"/admin/people/{person_id}/delete", data={"csrf_token": "x"})

    assert response.status_code == 403
    assert (await _person(client, person_id)).status_code == 200


async def test_genres_are_listed_with_their_films(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await create_movie(client, manager, title="A", genres=["Drama", "Western"])
    await create_movie(client, manager, title="B", genres=["Drama"], status="draft")
    await sign_in(client, manager)

    page = await client.get("/admin/genres")

    assert page.status_code == 200
    rows = re.findall(
        r'<th scope="row" data-label="Genre">([^<]+)</th>\s*'
        r'<td data-label="Films">(\d+)</td>\s*<td data-label="Published">(\d+)</td>',
        page.text,
    )
    assert rows == [("Drama", "2", "1"), ("Western", "1", "1")]
    assert 'href="/admin/movies?genre=drama"' in page.text


@pytest.mark.parametrize("path", ["/admin/people", "/admin/people/new", "/admin/genres"])
async def test_only_staff_open_the_people_and_genres(
    app: FastAPI, client: httpx.AsyncClient, browser: httpx.AsyncClient, path: str
) -> None:
    await sign_in(client, await make_user(app, role=Role.VIEWER))

    assert (await client.get(path)).status_code == 403
    assert (await browser.get(path)).headers["location"] == f"/login?next={path}"
