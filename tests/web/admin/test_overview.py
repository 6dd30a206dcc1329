"""The staff area's front page: for managers and admins only, with what needs attention."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from kino.identity.models import Role
from tests.factories import SignedIn, make_user
from tests.web.conftest import create_movie, sign_in


async def test_a_signed_out_visitor_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin")

    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/admin")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MODERATOR])
async def test_a_viewer_or_moderator_gets_the_forbidden_page(
    app: FastAPI, client: httpx.AsyncClient, role: Role
) -> None:
    await sign_in(client, await make_user(app, role=role))

    response = await client.get("/admin")

    assert response.status_code == 403
    assert "This page is for staff." in response.text


async def test_a_manager_sees_films_and_jobs_but_not_users(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await create_movie(client, manager, title="Out Now", status="published")
    await create_movie(client, manager, title="Coming", status="draft")
    await create_movie(client, manager, title="Coming Too", status="draft")
    await sign_in(client, manager)

    page = await client.get("/admin")

    assert page.status_code == 200
    assert _figure(page, "published films") == "1"
    assert _figure(page, "drafts") == "2"
    assert _figure(page, "failed jobs") == "0"
    assert 'href="/admin/users"' not in page.text


async def test_an_admin_also_sees_the_users(app: FastAPI, client: httpx.AsyncClient) -> None:
    await make_user(app)
    await sign_in(client, await make_user(app, role=Role.ADMIN))

    page = await client.get("/admin")

    assert _figure(page, "users") == "2"
    assert 'href="/admin/users"' in page.text


def _figure(page: httpx.Response, label: str) -> str:
    marker = f'<span class="figure-label">{label}</span>'
    before = page.text[: page.text.index(marker)]
    value = before.rsplit('<span class="figure-value">', 1)[1]
    return value.split("</span>", 1)[0]
