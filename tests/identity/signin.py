"""Signing in over the API, for identity tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import DEFAULT_PASSWORD, SignedIn


async def login(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, Any]:
    """The token pair of a successful sign-in."""
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def login_as(client: httpx.AsyncClient, account: SignedIn) -> dict[str, Any]:
    return await login(client, account.user.email, account.password)


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code
