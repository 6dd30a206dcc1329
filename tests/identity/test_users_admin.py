from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from kino.identity.models import Role
from tests.factories import SignedIn, make_user
from tests.identity.signin import bearer, error_code, login_as

USERS = "/api/v1/users"


@pytest.fixture
async def admin(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.ADMIN, email="root@example.com", display_name="Root")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MODERATOR, Role.MANAGER])
async def test_admin_endpoints_refuse_other_roles(
    app: FastAPI, client: httpx.AsyncClient, role: Role
) -> None:
    caller = await make_user(app, role=role)
    target = f"{USERS}/{caller.user.id}"
    answers = [
        await client.get(USERS, headers=caller.headers),
        await client.get(target, headers=caller.headers),
        await client.patch(target, headers=caller.headers, json={"role": "admin"}),
        await client.post(f"{target}/deactivate", headers=caller.headers),
        await client.post(f"{target}/activate", headers=caller.headers),
    ]
    assert [answer.status_code for answer in answers] == [403] * 5
    assert error_code(answers[0]) == "forbidden"


async def test_admin_endpoints_need_sign_in(client: httpx.AsyncClient) -> None:
    assert (await client.get(USERS)).status_code == 401
    assert (await client.get(f"{USERS}/{uuid.uuid4()}")).status_code == 401


async def test_admin_lists_users_in_pages(
    app: FastAPI, client: httpx.AsyncClient, admin: SignedIn
) -> None:
    for _ in range(2):
        await make_user(app)
    first = (await client.get(USERS, headers=admin.headers, params={"page_size": 2})).json()
    second = (
        await client.get(USERS, headers=admin.headers, params={"page_size": 2, "page": 2})
    ).json()
    assert (first["total"], first["page"], first["page_size"]) == (3, 1, 2)
    assert len(first["items"]) == 2
    assert len(second["items"]) == 1
    ids = {item["id"] for item in first["items"] + second["items"]}
    assert len(ids) == 3


async def test_admin_filters_users_by_role_and_text(
    app: FastAPI, client: httpx.AsyncClient, admin: SignedIn
) -> None:
    await make_user(app, role=Role.MODERATOR, email="mod@example.com", display_name="Mia")
    await make_user(app, email="grace@example.com", display_name="Grace Hopper")

    async def emails(**params: str) -> list[str]:
        response = await client.get(USERS, headers=admin.headers, params=params)
        assert response.status_code == 200
        return sorted(item["email"] for item in response.json()["items"])

    assert await emails(role="moderator") == ["mod@example.com"]
    assert await emails(q="HOPPER") == ["grace@example.com"]
    assert await emails(q="example.com", role="admin") == ["root@example.com"]
    assert await emails(q="%") == []
    assert await emails(q="_") == []
    assert await emails(q="' OR '1'='1") == []


async def test_unknown_role_filter_is_422(client: httpx.AsyncClient, admin: SignedIn) -> None:
    response = await client.get(USERS, headers=admin.headers, params={"role": "emperor"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "role"


async def test_admin_reads_one_user(
    app: FastAPI, client: httpx.AsyncClient, admin: SignedIn
) -> None:
    someone = await make_user(app, display_name="Someone")
    response = await client.get(f"{USERS}/{someone.user.id}", headers=admin.headers)
    assert response.json()["display_name"] == "Someone"
    missing = await client.get(f"{USERS}/{uuid.uuid4()}", headers=admin.headers)
    assert missing.status_code == 404
    malformed = await client.get(f"{USERS}/not-a-uuid", headers=admin.headers)
    assert malformed.status_code == 422


async def test_admin_changes_a_users_role(
    app: FastAPI, client: httpx.AsyncClient, admin: SignedIn
) -> None:
    someone = await make_user(app)
    response = await client.patch(
        f"{USERS}/{someone.user.id}", headers=admin.headers, json={"role": "manager"}
    )
    assert response.status_code == 200
    assert response.json()["role"] == "manager"
    assert (await client.get("/api/v1/auth/me", headers=someone.headers)).json()["role"] == (
        "manager"
    )


async def test_unknown_role_value_is_422(
    app: FastAPI, client: httpx.AsyncClient, admin: SignedIn
) -> None:
    response = await client.patch(
        f"{USERS}/{admin.user.id}", headers=admin.headers, json={"role": "superuser"}
    )
    assert response.status_code == 422


async def test_admin_cannot_demote_or_deactivate_themself(
    client: httpx.AsyncClient, admin: SignedIn
) -> None:
    target = f"{USERS}/{admin.user.id}"
    demoted = await client.patch(target, headers=admin.headers, json={"role": "viewer"})
    deactivated = await client.post(f"{target}/deactivate", headers=admin.headers)
    assert demoted.status_code == deactivated.status_code == 409
    assert error_code(demoted) == error_code(deactivated) == "self_lockout"
    me = await client.get("/api/v1/auth/me", headers=admin.headers)
    assert (me.json()["role"], me.json()["is_active"]) == ("admin", True)


async def test_deactivation_stops_every_credential_at_once(
    app: FastAPI, client: httpx.AsyncClient, admin: SignedIn
) -> None:
    someone = await make_user(app)
    tokens = await login_as(client, someone)
    key = (
        await client.post("/api/v1/api-keys", headers=someone.headers, json={"name": "n"})
    ).json()["key"]

    response = await client.post(f"{USERS}/{someone.user.id}/deactivate", headers=admin.headers)
    assert response.json()["is_active"] is False

    me = "/api/v1/auth/me"
    assert (await client.get(me, headers=bearer(tokens))).status_code == 401
    assert (await client.get(me, headers={"X-API-Key": key})).status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_activation_lets_the_user_back_in(
    app: FastAPI, client: httpx.AsyncClient, admin: SignedIn
) -> None:
    someone = await make_user(app)
    target = f"{USERS}/{someone.user.id}"
    await client.post(f"{target}/deactivate", headers=admin.headers)
    response = await client.post(f"{target}/activate", headers=admin.headers)
    assert response.json()["is_active"] is True
    tokens = await login_as(client, someone)
    assert (await client.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 200
