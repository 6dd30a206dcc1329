from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kino.core.security import token_digest
from kino.identity.models import ApiKey
from kino.identity.service import MAX_API_KEYS_PER_USER
from tests.factories import SignedIn, make_user
from tests.identity.signin import error_code

KEYS = "/api/v1/api-keys"
ME = "/api/v1/auth/me"


async def _create_key(client: httpx.AsyncClient, owner: SignedIn, name: str = "ci") -> str:
    response = await client.post(KEYS, headers=owner.headers, json={"name": name})
    assert response.status_code == 201
    key: str = response.json()["key"]
    return key


async def test_new_key_is_shown_once_and_listed_by_prefix(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await make_user(app)
    created = (await client.post(KEYS, headers=owner.headers, json={"name": "Backup job"})).json()
    _, prefix, secret = created["key"].split("_", 2)
    assert created["key"].startswith("kino_")
    assert created["prefix"] == prefix
    assert all(character in "0123456789abcdef" for character in prefix)
    assert len(secret) >= 32

    listed = (await client.get(KEYS, headers=owner.headers)).json()
    assert [(key["name"], key["prefix"]) for key in listed] == [("Backup job", prefix)]
    assert "key" not in listed[0]
    assert secret not in (await client.get(KEYS, headers=owner.headers)).text


async def test_key_authenticates_as_its_owner(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app)
    key = await _create_key(client, owner)
    response = await client.get(ME, headers={"X-API-Key": key})
    assert response.json()["id"] == str(owner.user.id)
    listed = (await client.get(KEYS, headers={"X-API-Key": key})).json()
    assert listed[0]["last_used_at"] is not None


async def test_keys_are_stored_only_as_digests(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app)
    key = await _create_key(client, owner)
    async with app.state.db.transaction() as session:
        stored = (await session.scalars(select(ApiKey.key_hash))).all()
    assert stored == [token_digest(key)]


async def test_revoked_key_stops_working(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app)
    key = await _create_key(client, owner)
    [listed] = (await client.get(KEYS, headers=owner.headers)).json()
    response = await client.delete(f"{KEYS}/{listed['id']}", headers=owner.headers)
    assert response.status_code == 204
    assert (await client.get(ME, headers={"X-API-Key": key})).status_code == 401
    assert (await client.get(KEYS, headers=owner.headers)).json() == []
    again = await client.delete(f"{KEYS}/{listed['id']}", headers=owner.headers)
    assert again.status_code == 404


async def test_nobody_sees_or_revokes_someone_elses_keys(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner, other = await make_user(app), await make_user(app)
    key = await _create_key(client, owner)
    [listed] = (await client.get(KEYS, headers=owner.headers)).json()

    assert (await client.get(KEYS, headers=other.headers)).json() == []
    response = await client.delete(f"{KEYS}/{listed['id']}", headers=other.headers)
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert (await client.get(ME, headers={"X-API-Key": key})).status_code == 200


async def test_unknown_key_id_is_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app)
    assert (await client.delete(f"{KEYS}/{uuid.uuid4()}", headers=owner.headers)).status_code == (
        404
    )


async def test_key_endpoints_need_sign_in(client: httpx.AsyncClient) -> None:
    assert (await client.get(KEYS)).status_code == 401
    assert (await client.post(KEYS, json={"name": "x"})).status_code == 401


@pytest.mark.parametrize(
    "key",
    [
        "kino_0123456789ab_not-the-secret",
        "kino_0123456789ab",
        "kino__",
        "nope",
        "kino_" + "f" * 200 + "_secret",
        "kino_' OR '1'='1_x",
    ],
)
async def test_wrong_or_malformed_keys_get_401(
    app: FastAPI, client: httpx.AsyncClient, key: str
) -> None:
    owner = await make_user(app)
    real = await _create_key(client, owner)
    assert (await client.get(ME, headers={"X-API-Key": key})).status_code == 401
    _, prefix, _ = real.split("_", 2)
    forged = f"kino_{prefix}_forged-secret"
    assert (await client.get(ME, headers={"X-API-Key": forged})).status_code == 401


async def test_key_names_are_checked(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app)
    for name in ["", "   ", "x" * 101, "bad\x00name"]:
        response = await client.post(KEYS, headers=owner.headers, json={"name": name})
        assert response.status_code == 422, name
        assert response.json()["error"]["details"][0]["field"] == "name"


async def test_keys_per_user_are_capped(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app)
    for number in range(MAX_API_KEYS_PER_USER):
        await _create_key(client, owner, name=f"key {number}")
    response = await client.post(KEYS, headers=owner.headers, json={"name": "one too many"})
    assert response.status_code == 409
    assert error_code(response) == "too_many_api_keys"
