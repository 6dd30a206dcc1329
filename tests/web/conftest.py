"""Fixtures and helpers for the web pages: a browser-like client that keeps cookies, fills in
the CSRF token the way a page's forms and scripts do, and signs up or in through the forms."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kino.identity.models import Role
from tests.factories import DEFAULT_PASSWORD, SignedIn, make_user

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
HTMX = {"HX-Request": "true"}


async def csrf_token(client: httpx.AsyncClient, path: str = "/") -> str:
    """The token the page at ``path`` puts in its forms, for this client's cookies."""
    response = await client.get(path)
    match = CSRF_META.search(response.text)
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


async def post_form(
    client: httpx.AsyncClient,
    path: str,
    fields: dict[str, Any] | None = None,
    *,
    htmx: bool = False,
    token: str | None = None,
) -> httpx.Response:
    """Post a form as the site's page would: with this browser's CSRF token."""
    data = {"csrf_token": token or await csrf_token(client), **(fields or {})}
    return await client.post(path, data=data, headers=HTMX if htmx else None)


async def sign_up(
    client: httpx.AsyncClient,
    *,
    email: str = "vera@example.com",
    password: str = DEFAULT_PASSWORD,
    display_name: str = "Vera Viewer",
) -> httpx.Response:
    response = await post_form(
        client,
        "/register",
        {"email": email, "password": password, "display_name": display_name},
    )
    assert response.status_code == 303, response.text
    return response


async def sign_in(
    client: httpx.AsyncClient, account: SignedIn, *, next_path: str = "/"
) -> httpx.Response:
    response = await post_form(
        client,
        "/login",
        {"email": account.user.email, "password": account.password, "next": next_path},
    )
    assert response.status_code == 303, response.text
    return response


async def create_movie(client: httpx.AsyncClient, staff: SignedIn, **fields: Any) -> int:
    body = {"title": "Untitled", "status": "published", **fields}
    response = await client.post("/api/v1/movies", json=body, headers=staff.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def create_person(client: httpx.AsyncClient, staff: SignedIn, name: str) -> int:
    response = await client.post("/api/v1/people", json={"name": name}, headers=staff.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def flash_of(page: httpx.Response) -> str | None:
    match = re.search(r'<div class="flash" role="status">([^<]*)</div>', page.text)
    return match.group(1) if match else None


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


@pytest.fixture
async def viewer(app: FastAPI) -> SignedIn:
    return await make_user(app, display_name="Vera Viewer")


@pytest.fixture
async def other(app: FastAPI) -> SignedIn:
    return await make_user(app, display_name="Otto Other")


@pytest.fixture
async def browser(app: FastAPI) -> Any:
    """A second client with its own cookies: another browser."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as http:
        yield http
