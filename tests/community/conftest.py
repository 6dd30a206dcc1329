"""Fixtures for the community tests: a published film, a draft, and people in each role."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kino.identity.models import Role
from tests.factories import SignedIn, make_user


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


@pytest.fixture
async def moderator(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MODERATOR, display_name="Mod Erator")


@pytest.fixture
async def viewer(app: FastAPI) -> SignedIn:
    return await make_user(app, display_name="Vera Viewer")


@pytest.fixture
async def other(app: FastAPI) -> SignedIn:
    """A second viewer, who must not read or change what belongs to ``viewer``."""
    return await make_user(app, display_name="Otto Other")


async def create_movie(client: httpx.AsyncClient, staff: SignedIn, **fields: Any) -> int:
    body = {"title": "Untitled", "status": "published", **fields}
    response = await client.post("/api/v1/movies", json=body, headers=staff.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
async def movie_id(client: httpx.AsyncClient, manager: SignedIn) -> int:
    return await create_movie(client, manager, title="Stalker", year=1979)


@pytest.fixture
async def draft_id(client: httpx.AsyncClient, manager: SignedIn) -> int:
    return await create_movie(client, manager, title="Work in Progress", status="draft")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["message"]
    return str(body["error"]["code"])
