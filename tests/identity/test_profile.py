from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from kino.core.db import utcnow
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.identity.signin import bearer, error_code, login, login_as

ME = "/api/v1/auth/me"
PASSWORD = "/api/v1/auth/password"
NEW_PASSWORD = "a-whole-new-secret-7"


async def test_me_shows_the_callers_account(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_user(app, display_name="Ada")
    body = (await client.get(ME, headers=account.headers)).json()
    assert body["id"] == str(account.user.id)
    assert body["display_name"] == "Ada"
    assert body["role"] == "viewer"
    assert body["birth_date"] is None


async def test_profile_changes_name_and_birth_date(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_user(app)
    response = await client.patch(
        ME, headers=account.headers, json={"display_name": " Ada L. ", "birth_date": "1990-12-10"}
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Ada L."
    assert (await client.get(ME, headers=account.headers)).json()["birth_date"] == "1990-12-10"


async def test_profile_change_keeps_fields_not_sent(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await make_user(app, display_name="Ada")
    await client.patch(ME, headers=account.headers, json={"birth_date": "1990-12-10"})
    body = (await client.patch(ME, headers=account.headers, json={})).json()
    assert (body["display_name"], body["birth_date"]) == ("Ada", "1990-12-10")


async def test_birth_date_null_clears_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_user(app)
    await client.patch(ME, headers=account.headers, json={"birth_date": "1990-12-10"})
    response = await client.patch(ME, headers=account.headers, json={"birth_date": None})
    assert response.json()["birth_date"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"birth_date": (utcnow().date() + timedelta(days=2)).isoformat()}, "birth_date"),
        ({"birth_date": "1850-01-01"}, "birth_date"),
        ({"birth_date": "yesterday"}, "birth_date"),
        ({"display_name": None}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"role": "admin"}, "role"),
        ({"email": "new@example.com"}, "email"),
    ],
)
async def test_profile_refuses_what_it_cannot_take(
    app: FastAPI, client: httpx.AsyncClient, change: dict[str, object], field: str
) -> None:
    account = await make_user(app)
    response = await client.patch(ME, headers=account.headers, json=change)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


async def test_profile_needs_sign_in(client: httpx.AsyncClient) -> None:
    assert (await client.patch(ME, json={"display_name": "X"})).status_code == 401


# --- changing the password -----------------------------------------------------------------


async def test_password_change_needs_the_current_password(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await make_user(app)
    response = await client.post(
        PASSWORD,
        headers=account.headers,
        json={"current_password": "not-my-password-1", "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 422
    assert error_code(response) == "wrong_password"
    await login(client, account.user.email, DEFAULT_PASSWORD)  # unchanged


async def test_password_change_ends_other_sessions_and_starts_a_new_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await make_user(app)
    here, elsewhere = await login_as(client, account), await login_as(client, account)
    response = await client.post(
        PASSWORD,
        headers=bearer(here),
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 200
    fresh = response.json()
    assert (await client.get(ME, headers=bearer(fresh))).status_code == 200
    assert (await client.get(ME, headers=bearer(elsewhere))).status_code == 401
    refresh_elsewhere = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": elsewhere["refresh_token"]}
    )
    assert refresh_elsewhere.status_code == 401
    await login(client, account.user.email, NEW_PASSWORD)
    old = await client.post(
        "/api/v1/auth/login", json={"email": account.user.email, "password": DEFAULT_PASSWORD}
    )
    assert old.status_code == 401


@pytest.mark.parametrize("new_password", ["short-1", DEFAULT_PASSWORD, "lettersonlyhere"])
async def test_password_change_refuses_a_weak_or_unchanged_password(
    app: FastAPI, client: httpx.AsyncClient, new_password: str
) -> None:
    account = await make_user(app)
    response = await client.post(
        PASSWORD,
        headers=account.headers,
        json={"current_password": DEFAULT_PASSWORD, "new_password": new_password},
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "new_password"


async def test_api_key_also_signs_in_to_me(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_user(app)
    created = await client.post("/api/v1/api-keys", headers=account.headers, json={"name": "ci"})
    response = await client.get(ME, headers={"X-API-Key": created.json()["key"]})
    assert response.json()["email"] == account.user.email


async def test_guessing_the_current_password_is_rate_limited(strict_app: FastAPI) -> None:
    account = await make_user(strict_app)
    transport = httpx.ASGITransport(app=strict_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as client:
        guesses = [
            await client.post(
                PASSWORD,
                headers=account.headers,
                json={"current_password": f"guess-number-{n}", "new_password": NEW_PASSWORD},
            )
            for n in range(4)
        ]
    assert [guess.status_code for guess in guesses] == [422, 422, 422, 429]
    assert "Retry-After" in guesses[-1].headers
