from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from kino.identity.models import Role
from tests.catalog.test_movies import create_movie, create_person
from tests.factories import SignedIn, make_user


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


async def test_filmography_lists_published_films_for_viewers(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    person = await create_person(client, manager, "Tchéky Karyo")
    credit = [{"person_id": person, "role": "actor", "character": "Bob"}]
    await create_movie(client, manager, title="Nikita", year=1990, credits=credit)
    await create_movie(client, manager, title="Secret Project", status="draft", credits=credit)
    public = (await client.get(f"/api/v1/people/{person}")).json()
    assert public["name"] == "Tchéky Karyo"
    assert public["slug"] == "tcheky-karyo"
    assert [(f["movie"]["title"], f["character"]) for f in public["filmography"]] == [
        ("Nikita", "Bob")
    ]
    staff = (await client.get(f"/api/v1/people/{person}", headers=manager.headers)).json()
    assert len(staff["filmography"]) == 2


async def test_people_are_listed_by_name_and_paged(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    for name in ["Zoe Saldana", "Agnès Varda", "Mads Mikkelsen"]:
        await create_person(client, manager, name)
    page = (await client.get("/api/v1/people", params={"page_size": 2})).json()
    assert [person["name"] for person in page["items"]] == ["Agnès Varda", "Mads Mikkelsen"]
    assert page["total"] == 3


async def test_renaming_and_deleting_a_person(client: httpx.AsyncClient, manager: SignedIn) -> None:
    person = await create_person(client, manager, "Jon Doe")
    movie = await create_movie(
        client, manager, title="Film", credits=[{"person_id": person, "role": "writer"}]
    )
    renamed = await client.patch(
        f"/api/v1/people/{person}", json={"name": "John Doe"}, headers=manager.headers
    )
    assert renamed.json()["name"] == "John Doe"
    assert (
        await client.patch(f"/api/v1/people/{person}", json={"name": None}, headers=manager.headers)
    ).status_code == 422
    assert (
        await client.delete(f"/api/v1/people/{person}", headers=manager.headers)
    ).status_code == 204
    assert (await client.get(f"/api/v1/people/{person}")).status_code == 404
    assert (await client.get(f"/api/v1/movies/{movie['id']}")).json()["credits"] == []
