from __future__ import annotations

import httpx
import pytest

from tests.identity.signin import error_code, login

REGISTER = "/api/v1/auth/register"


def _account(**changes: str) -> dict[str, str]:
    return {
        "email": "ada@example.com",
        "password": "analytical-engine-1843",
        "display_name": "Ada",
        **changes,
    }


async def test_registering_creates_a_viewer_account(client: httpx.AsyncClient) -> None:
    response = await client.post(REGISTER, json=_account())
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["display_name"] == "Ada"
    assert body["role"] == "viewer"
    assert body["id"]
    assert not {"password", "password_hash", "token_version"} & body.keys()


async def test_registered_account_can_sign_in(client: httpx.AsyncClient) -> None:
    await client.post(REGISTER, json=_account())
    tokens = await login(client, "ada@example.com", "analytical-engine-1843")
    assert tokens["token_type"] == "bearer"


async def test_email_is_stored_lower_cased(client: httpx.AsyncClient) -> None:
    response = await client.post(REGISTER, json=_account(email="  Ada@Example.COM "))
    assert response.status_code == 201
    assert response.json()["email"] == "ada@example.com"


async def test_duplicate_email_in_any_case_is_a_conflict(client: httpx.AsyncClient) -> None:
    await client.post(REGISTER, json=_account())
    response = await client.post(REGISTER, json=_account(email="ADA@example.com"))
    assert response.status_code == 409
    assert error_code(response) == "email_taken"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Short1!", "at least 10 characters"),
        ("onlylowercaseletters", "two kinds of characters"),
        ("12345678901234", "two kinds of characters"),
    ],
)
async def test_weak_password_is_refused_with_the_reason(
    client: httpx.AsyncClient, password: str, reason: str
) -> None:
    response = await client.post(REGISTER, json=_account(password=password))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "weak_password"
    assert reason in error["message"]
    assert error["details"][0]["field"] == "password"


@pytest.mark.parametrize("email", ["not-an-email", "ada@", "@example.com", ""])
async def test_invalid_email_is_refused_naming_the_field(
    client: httpx.AsyncClient, email: str
) -> None:
    response = await client.post(REGISTER, json=_account(email=email))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "email"


async def test_blank_display_name_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(REGISTER, json=_account(display_name="   "))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "display_name"


async def test_registering_cannot_choose_a_role(client: httpx.AsyncClient) -> None:
    response = await client.post(REGISTER, json={**_account(), "role": "admin"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "role"
