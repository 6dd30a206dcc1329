"""Malformed, oversized and hostile input gets a clear 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import make_user

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
GOOD = {"email": "ada@example.com", "password": "analytical-engine-1843", "display_name": "Ada"}


@pytest.mark.parametrize(
    "path",
    [
        REGISTER,
        LOGIN,
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
    ],
)
@pytest.mark.parametrize("body", [b"{not json", b"", b'{"email": "a@b.c",', b"\xff\xfe\x00"])
async def test_malformed_json_is_a_clear_4xx(
    client: httpx.AsyncClient, path: str, body: bytes
) -> None:
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    # 422 for broken JSON; FastAPI answers 400 for a body that is not even UTF-8.
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in ("bad_request", "validation_error")
    assert response.json()["error"]["message"]


async def test_json_that_is_not_an_object_is_422(client: httpx.AsyncClient) -> None:
    for body in ("[]", '"text"', "42", "null"):
        response = await client.post(
            LOGIN, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": 12345}, "email"),
        ({"password": ["a", "list"]}, "password"),
        ({"display_name": {"an": "object"}}, "display_name"),
        ({"display_name": True}, "display_name"),
    ],
)
async def test_wrong_types_name_the_field(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    response = await client.post(REGISTER, json={**GOOD, **change})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "a" * 10_000 + "@example.com"}, "email"),
        ({"password": "Aa1" * 100_000}, "password"),
        ({"display_name": "x" * 10_000}, "display_name"),
    ],
)
async def test_huge_strings_are_refused(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    response = await client.post(REGISTER, json={**GOOD, **change})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


async def test_huge_login_fields_are_refused_before_hashing(client: httpx.AsyncClient) -> None:
    huge_password = await client.post(
        LOGIN, json={"email": "ada@example.com", "password": "x" * 1_000_000}
    )
    huge_email = await client.post(LOGIN, json={"email": "a" * 100_000, "password": "x"})
    assert huge_password.status_code == huge_email.status_code == 422


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (REGISTER, {**GOOD, "display_name": "Ada\x00Lovelace"}, "display_name"),
        (LOGIN, {"email": "ada\x00@example.com", "password": "whatever-1"}, "email"),
        ("/api/v1/auth/password-reset", {"email": "ada@example.com\x00"}, "email"),
    ],
)
async def test_control_characters_are_refused(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


async def test_sql_in_fields_is_only_text(app: FastAPI, client: httpx.AsyncClient) -> None:
    name = "Robert'); DROP TABLE users;--"
    created = await client.post(REGISTER, json={**GOOD, "display_name": name})
    assert created.status_code == 201
    assert created.json()["display_name"] == name
    for email in ["' OR '1'='1", "ada@example.com' --", '" OR 1=1 --']:
        response = await client.post(LOGIN, json={"email": email, "password": "' OR '1'='1"})
        assert response.status_code == 401, email
    admin_answer = await client.get(
        "/api/v1/users/1%20OR%201=1", headers=(await make_user(app)).headers
    )
    assert admin_answer.status_code in (403, 422)


async def test_control_characters_in_a_search_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from kino.identity.models import Role

    admin = await make_user(app, role=Role.ADMIN)
    response = await client.get("/api/v1/users", headers=admin.headers, params={"q": "a\x00b"})
    assert response.status_code == 422
    too_long = await client.get("/api/v1/users", headers=admin.headers, params={"q": "a" * 101})
    assert too_long.status_code == 422


async def test_login_form_with_a_file_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        LOGIN,
        data={"username": "ada@example.com"},
        files={"password": ("password.txt", b"analytical-engine-1843")},
    )
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"]


async def test_page_size_beyond_the_maximum_is_422(app: FastAPI, client: httpx.AsyncClient) -> None:
    from kino.identity.models import Role

    admin = await make_user(app, role=Role.ADMIN)
    response = await client.get("/api/v1/users", headers=admin.headers, params={"page_size": 101})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "page_size"
