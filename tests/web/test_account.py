"""The account pages: profile, history, favorites, reviews and API keys, each the visitor's own."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import SignedIn
from tests.playback.support import publish_tiny_asset
from tests.web.conftest import create_movie, csrf_token, flash_of, post_form, sign_in

ACCOUNT_PAGES = ["/account", "/account/history", "/account/favorites", "/account/reviews"]


@pytest.mark.parametrize("path", [*ACCOUNT_PAGES, "/account/api-keys"])
async def test_account_pages_send_a_signed_out_visitor_to_sign_in(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


async def test_the_profile_keeps_a_display_name_and_a_birth_date(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)

    saved = await post_form(
        client, "/account/profile", {"display_name": "Vera V.", "birth_date": "1990-04-01"}
    )

    assert (saved.status_code, saved.headers["location"]) == (303, "/account")
    page = await client.get("/account")
    assert flash_of(page) == "Your profile is saved."
    assert 'value="Vera V."' in page.text
    assert 'value="1990-04-01"' in page.text
    me = (await client.get("/api/v1/auth/me")).json()
    assert (me["display_name"], me["birth_date"]) == ("Vera V.", "1990-04-01")
    cleared = await post_form(
        client, "/account/profile", {"display_name": "Vera", "birth_date": ""}
    )
    assert cleared.status_code == 303
    assert (await client.get("/api/v1/auth/me")).json()["birth_date"] is None


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"display_name": "", "birth_date": ""}, "display_name"),
        ({"display_name": "Vera", "birth_date": "2999-01-01"}, "birth_date"),
        ({"display_name": "Vera", "birth_date": "not a date"}, "birth_date"),
    ],
)
async def test_a_bad_profile_is_shown_again_with_the_reason(
    client: httpx.AsyncClient, viewer: SignedIn, fields: dict[str, str], error_field: str
) -> None:
    await sign_in(client, viewer)

    response = await post_form(client, "/account/profile", fields)

    assert response.status_code == 422
    assert f'id="error-{error_field}"' in response.text
    assert (await client.get("/api/v1/auth/me")).json()["display_name"] == "Vera Viewer"


async def test_a_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)

    response = await post_form(
        client,
        "/account/password",
        {"current_password": "not-it-at-all-1", "new_password": "a-brand-new-secret-7"},
    )

    assert response.status_code == 422
    assert 'id="error-current_password"' in response.text
    assert (await client.get("/api/v1/auth/me")).status_code == 200


async def test_history_lists_what_was_played_and_removes_films(
    client: httpx.AsyncClient,
    app: FastAPI,
    manager: SignedIn,
    viewer: SignedIn,
    other: SignedIn,
) -> None:
    first = await create_movie(client, manager, title="First Watched")
    second = await create_movie(client, manager, title="Second Watched")
    theirs = await create_movie(client, manager, title="Someone Else's")
    for film in (first, second, theirs):
        await publish_tiny_asset(app, film, duration=100.0)
    for film, who in ((first, viewer), (second, viewer), (theirs, other)):
        response = await client.put(
            f"/api/v1/me/progress/{film}", json={"position_seconds": 30.0}, headers=who.headers
        )
        assert response.status_code == 200
    await sign_in(client, viewer)

    page = await client.get("/account/history")

    assert "First Watched" in page.text
    assert "Second Watched" in page.text
    assert "Someone Else" not in page.text
    assert "Stopped at 0:30 of 1:40" in page.text
    removed = await post_form(client, f"/account/history/{first}/remove")
    assert removed.status_code == 303
    after = await client.get("/account/history")
    assert "First Watched" not in after.text
    assert flash_of(after) == "The film is removed from your history."
    await post_form(client, "/account/history/clear")
    assert "Films you play appear here" in (await client.get("/account/history")).text
    theirs_left = await client.get("/api/v1/me/history", headers=other.headers)
    assert theirs_left.json()["total"] == 1


async def test_removing_a_film_that_is_not_in_the_history_is_a_404_page(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)

    response = await post_form(client, "/account/history/12345/remove")

    assert response.status_code == 404


async def test_favorites_are_listed_and_removed(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Keeper")
    await sign_in(client, viewer)
    await post_form(client, f"/movies/{film}/favorite", {"favorite": "1"})

    page = await client.get("/account/favorites")

    assert f'href="/movies/{film}"' in page.text
    await post_form(client, f"/account/favorites/{film}/remove")
    assert f'href="/movies/{film}"' not in (await client.get("/account/favorites")).text


async def test_my_reviews_lists_and_deletes_the_viewers_reviews(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Reviewed")
    await sign_in(client, viewer)
    await post_form(client, f"/movies/{film}/reviews", {"title": "Fine film", "body": "Fine."})

    page = await client.get("/account/reviews")
    review_id = re.search(r'id="review-(\d+)"', page.text)

    assert "Fine film" in page.text
    assert review_id is not None
    deleted = await post_form(
        client, f"/reviews/{review_id.group(1)}/delete", {"back": "/account/reviews"}
    )
    assert deleted.headers["location"] == "/account/reviews"
    assert "You have not reviewed a film yet." in (await client.get("/account/reviews")).text


async def test_an_api_key_is_shown_once_works_and_is_revoked(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)

    created = await post_form(client, "/account/api-keys", {"name": "media server"})

    assert created.status_code == 201
    key = re.search(r"<code class=\"new-key\" data-new-key>(kino_[\w-]+)</code>", created.text)
    assert key is not None
    listing = await client.get("/account/api-keys")
    assert "media server" in listing.text
    assert key.group(1) not in listing.text  # never shown again
    me = await client.get("/api/v1/auth/me", headers={"X-API-Key": key.group(1)})
    assert me.status_code == 200
    key_id = re.search(r'action="/account/api-keys/([0-9a-f-]{36})/revoke"', listing.text)
    assert key_id is not None
    await post_form(client, f"/account/api-keys/{key_id.group(1)}/revoke")
    revoked = await client.get("/api/v1/auth/me", headers={"X-API-Key": key.group(1)})
    assert revoked.status_code == 401


async def test_an_api_key_needs_a_name(client: httpx.AsyncClient, viewer: SignedIn) -> None:
    await sign_in(client, viewer)

    response = await post_form(client, "/account/api-keys", {"name": "  "})

    assert response.status_code == 422
    assert 'id="error-name"' in response.text


async def test_nobody_revokes_another_viewers_key(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, viewer: SignedIn, other: SignedIn
) -> None:
    created = await client.post("/api/v1/api-keys", json={"name": "mine"}, headers=viewer.headers)
    key_id, key = created.json()["id"], created.json()["key"]
    await sign_in(browser, other)

    response = await post_form(
        browser, f"/account/api-keys/{key_id}/revoke", token=await csrf_token(browser)
    )

    assert response.status_code == 404
    assert (await client.get("/api/v1/auth/me", headers={"X-API-Key": key})).status_code == 200
