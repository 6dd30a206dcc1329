from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from kino.core import security
from kino.core.db import utcnow
from kino.core.security import encode_jwt, token_digest
from kino.identity.models import RefreshToken
from kino.settings import Settings
from tests.factories import SignedIn, make_user
from tests.identity.signin import bearer, error_code, login, login_as

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


async def _refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


# --- refresh -------------------------------------------------------------------------------


async def test_refresh_answers_a_new_pair(app: FastAPI, client: httpx.AsyncClient) -> None:
    tokens = await login_as(client, await make_user(app))
    response = await _refresh(client, tokens["refresh_token"])
    assert response.status_code == 200
    renewed = response.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert renewed["token_type"] == "bearer"
    assert (await client.get(ME, headers=bearer(renewed))).status_code == 200


async def test_a_refresh_token_works_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    tokens = await login_as(client, await make_user(app))
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 200
    again = await _refresh(client, tokens["refresh_token"])
    assert again.status_code == 401
    assert error_code(again) == "invalid_refresh_token"


async def test_reused_refresh_token_revokes_its_whole_family(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await make_user(app)
    stolen = await login_as(client, account)
    other_device = await login_as(client, account)
    successor = (await _refresh(client, stolen["refresh_token"])).json()

    assert (await _refresh(client, stolen["refresh_token"])).status_code == 401  # the reuse
    assert (await _refresh(client, successor["refresh_token"])).status_code == 401
    assert (await _refresh(client, other_device["refresh_token"])).status_code == 200


async def test_concurrent_uses_of_one_refresh_token_count_as_reuse(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tokens = await login_as(client, await make_user(app))
    first, second = await asyncio.gather(
        _refresh(client, tokens["refresh_token"]), _refresh(client, tokens["refresh_token"])
    )
    assert sorted([first.status_code, second.status_code]) == [200, 401]
    winner = first if first.status_code == 200 else second
    assert (await _refresh(client, winner.json()["refresh_token"])).status_code == 401


async def test_refresh_tokens_are_stored_only_as_digests(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tokens = await login_as(client, await make_user(app))
    async with app.state.db.transaction() as session:
        stored = (await session.scalars(select(RefreshToken.token_hash))).all()
    assert stored == [token_digest(tokens["refresh_token"])]


async def test_expired_refresh_token_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    tokens = await login_as(client, await make_user(app))
    async with app.state.db.transaction() as session:
        await session.execute(
            update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 401


@pytest.mark.parametrize("token", ["not-a-token", "x" * 512])
async def test_unknown_refresh_token_is_refused(client: httpx.AsyncClient, token: str) -> None:
    assert (await _refresh(client, token)).status_code == 401


# --- logout --------------------------------------------------------------------------------


async def test_logout_ends_the_session_at_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    tokens = await login_as(client, await make_user(app))
    response = await client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 204
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 401
    assert (await client.get(ME, headers=bearer(tokens))).status_code == 401


async def test_other_sessions_refresh_after_a_logout(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await make_user(app)
    leaving, staying = await login_as(client, account), await login_as(client, account)
    await client.post(LOGOUT, json={"refresh_token": leaving["refresh_token"]})
    assert (await _refresh(client, staying["refresh_token"])).status_code == 200


async def test_logout_with_an_unknown_token_changes_nothing(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGOUT, json={"refresh_token": "never-issued"})
    assert response.status_code == 204


# --- access tokens that must not work ------------------------------------------------------


def _b64(part: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _forged_tokens(account: SignedIn, settings: Settings) -> dict[str, str]:
    sub = str(account.user.id)
    claims = {"sub": sub, "ver": 0, "typ": "access"}
    valid = account.token
    header, payload, signature = valid.split(".")
    now = int(utcnow().timestamp())
    return {
        "wrong key": encode_jwt(claims, key="another-secret-key-of-enough-length", ttl_seconds=60),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "alg none unsigned": jwt.encode({**claims, "iat": now, "exp": now + 60}, None, "none"),
        "tampered payload": f"{header}.{_b64({**claims, 'sub': str(uuid.uuid4())})}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[::-1]}",
        "expired": encode_jwt(claims, key=settings.signing_key, ttl_seconds=-10),
        "refresh type": encode_jwt(
            {**claims, "typ": "refresh"}, key=settings.signing_key, ttl_seconds=60
        ),
        "no type": encode_jwt({"sub": sub, "ver": 0}, key=settings.signing_key, ttl_seconds=60),
        "old version": encode_jwt({**claims, "ver": -1}, key=settings.signing_key, ttl_seconds=60),
        "unknown user": encode_jwt(
            {**claims, "sub": str(uuid.uuid4())}, key=settings.signing_key, ttl_seconds=60
        ),
        "sub not a uuid": encode_jwt(
            {**claims, "sub": "1 OR 1=1"}, key=settings.signing_key, ttl_seconds=60
        ),
        "garbage": "not.a.jwt",
        "empty segments": "..",
    }


async def test_forged_or_stale_access_tokens_get_401(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_user(app)
    assert (await client.get(ME, headers=account.headers)).status_code == 200
    for name, token in _forged_tokens(account, settings).items():
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert error_code(response) == "unauthenticated", name
        assert response.headers["WWW-Authenticate"] == "Bearer", name


async def test_no_credentials_get_401(client: httpx.AsyncClient) -> None:
    response = await client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["message"]


async def test_access_token_is_a_short_lived_jwt(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    tokens = await login(client, (await make_user(app)).user.email)
    claims = jwt.decode(tokens["access_token"], settings.signing_key, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds
    assert claims["typ"] == "access"


async def test_an_access_token_in_use_stops_working_when_it_expires(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await make_user(app)
    assert (await client.get(ME, headers=account.headers)).status_code == 200  # checked, kept
    claims = jwt.decode(account.token, options={"verify_signature": False})
    monkeypatch.setattr(security.time, "time", lambda: claims["exp"] + 1.0)
    response = await client.get(ME, headers=account.headers)
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


async def test_a_tampered_copy_of_a_token_in_use_gets_401(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await make_user(app)
    assert (await client.get(ME, headers=account.headers)).status_code == 200  # checked, kept
    header, payload, signature = account.token.split(".")
    first = "B" if signature[0] == "A" else "A"
    tampered = f"{header}.{payload}.{first}{signature[1:]}"
    response = await client.get(ME, headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401
