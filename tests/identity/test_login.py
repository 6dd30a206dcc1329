from __future__ import annotations

import httpx
from fastapi import FastAPI

from kino.identity import service
from kino.settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.identity.signin import bearer, error_code, login

LOGIN = "/api/v1/auth/login"


async def test_json_login_answers_a_bearer_token_pair(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_user(app)
    tokens = await login(client, account.user.email)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == settings.access_token_ttl_seconds
    assert tokens["refresh_token"]
    me = await client.get("/api/v1/auth/me", headers=bearer(tokens))
    assert me.json()["email"] == account.user.email


async def test_oauth2_password_form_login_works_as_in_docs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await make_user(app)
    form = {"grant_type": "password", "username": account.user.email, "password": DEFAULT_PASSWORD}
    response = await client.post(LOGIN, data=form)
    assert response.status_code == 200
    me = await client.get("/api/v1/auth/me", headers=bearer(response.json()))
    assert me.status_code == 200


async def test_login_form_without_password_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGIN, data={"username": "ada@example.com"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "password"


async def test_openapi_documents_both_login_bodies_and_the_token_url(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    body = schema["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= body.keys()
    flows = [scheme.get("flows", {}) for scheme in schema["components"]["securitySchemes"].values()]
    assert {"password": {"scopes": {}, "tokenUrl": "/api/v1/auth/login"}} in flows


async def test_email_is_matched_in_any_case(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_user(app, email="grace@example.com")
    await login(client, "  GRACE@Example.com", account.password)


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await make_user(app)
    wrong_password = await client.post(
        LOGIN, json={"email": account.user.email, "password": "not-the-password-1"}
    )
    unknown = await client.post(
        LOGIN, json={"email": "nobody@example.com", "password": "not-the-password-1"}
    )
    assert wrong_password.status_code == unknown.status_code == 401
    assert wrong_password.json() == unknown.json()
    assert error_code(unknown) == "invalid_credentials"


async def test_deactivated_account_cannot_sign_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_user(app)
    async with app.state.db.transaction() as session:
        user = await service.get_user(session, account.user.id)
        user.is_active = False
    response = await client.post(
        LOGIN, json={"email": account.user.email, "password": account.password}
    )
    assert response.status_code == 403
    assert error_code(response) == "account_deactivated"


async def test_signing_in_records_the_time(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_user(app)
    await login(client, account.user.email)
    async with app.state.db.transaction() as session:
        assert (await service.get_user(session, account.user.id)).last_login_at is not None


# --- failed sign-ins are limited -----------------------------------------------------------


def _client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://kino.test")


async def _attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password})


async def test_failed_sign_ins_for_one_account_are_answered_429_with_retry_after(
    strict_app: FastAPI,
) -> None:
    account = await make_user(strict_app)
    async with _client_from(strict_app, "198.51.100.1") as client:
        for _ in range(3):
            response = await _attempt(client, account.user.email, "wrong-password-1")
            assert response.status_code == 401
        # Even the right password waits now: the attacker cannot tell when they hit it.
        limited = await _attempt(client, account.user.email, account.password)
    assert limited.status_code == 429
    assert error_code(limited) == "rate_limited"
    window = strict_app.state.settings.login_attempts_window_seconds
    assert 0 < int(limited.headers["Retry-After"]) <= window


async def test_account_limit_holds_across_client_addresses(strict_app: FastAPI) -> None:
    account = await make_user(strict_app)
    for number in range(3):
        async with _client_from(strict_app, f"198.51.100.{number + 1}") as client:
            await _attempt(client, account.user.email, "wrong-password-1")
    async with _client_from(strict_app, "198.51.100.99") as client:
        limited = await _attempt(client, account.user.email, account.password)
    assert limited.status_code == 429


async def test_failed_sign_ins_from_one_address_are_limited_across_accounts(
    strict_app: FastAPI,
) -> None:
    account = await make_user(strict_app)
    async with _client_from(strict_app, "198.51.100.7") as client:
        for number in range(5):
            await _attempt(client, f"guess{number}@example.com", "wrong-password-1")
        limited = await _attempt(client, account.user.email, account.password)
    assert limited.status_code == 429
    async with _client_from(strict_app, "198.51.100.8") as elsewhere:
        allowed = await _attempt(elsewhere, account.user.email, account.password)
    assert allowed.status_code == 200


async def test_successful_sign_in_clears_the_accounts_failures(strict_app: FastAPI) -> None:
    account = await make_user(strict_app)
    async with _client_from(strict_app, "198.51.100.1") as client:
        for _ in range(2):
            await _attempt(client, account.user.email, "wrong-password-1")
        assert (await _attempt(client, account.user.email, account.password)).status_code == 200
        for _ in range(2):
            response = await _attempt(client, account.user.email, "wrong-password-1")
            assert response.status_code == 401
        assert (await _attempt(client, account.user.email, account.password)).status_code == 200
