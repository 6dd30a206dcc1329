"""The admins' users page: find accounts, change roles, deactivate and reactivate, under the
identity service's rules."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from kino.identity.models import Role
from tests.factories import SignedIn, make_user
from tests.web.conftest import flash_of, post_form, sign_in

# A fixed id rather than a random one: every process of a parallel run (pytest -n) must collect
# the same test ids.
NO_SUCH_USER = "5f0c2b7e-9a41-4c3d-8e6f-2d1b0a9c8e7f"


@pytest.fixture
async def admin(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.ADMIN, display_name="Ada Admin")


async def _role(client: httpx.AsyncClient, admin: SignedIn, account: SignedIn) -> str:
    response = await client.get(f"/api/v1/users/{account.user.id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["role"])


async def test_an_admin_finds_users_by_address_and_role(
    app: FastAPI, client: httpx.AsyncClient, admin: SignedIn
) -> None:
    await make_user(app, email="vera@example.com")
    await make_user(app, email="victor@example.com", role=Role.MANAGER)
    await sign_in(client, admin)

    everyone = await client.get("/admin/users")
    found = await client.get("/admin/users", params={"q": "VERA@"})
    managers = await client.get("/admin/users", params={"role": "manager", "q": ""})

    assert everyone.status_code == 200
    assert "3 users" in everyone.text
    assert "vera@example.com" in found.text
    assert "victor@example.com" not in found.text
    assert "victor@example.com" in managers.text
    assert "vera@example.com" not in managers.text


async def test_an_admin_changes_a_role(
    client: httpx.AsyncClient, admin: SignedIn, viewer: SignedIn
) -> None:
    await sign_in(client, admin)

    changed = await post_form(
        client,
        f"/admin/users/{viewer.user.id}/role",
        {"role": "manager", "next": "/admin/users?role=viewer"},
    )

    assert (changed.status_code, changed.headers["location"]) == (303, "/admin/users?role=viewer")
    assert await _role(client, admin, viewer) == "manager"
    assert flash_of(await client.get("/admin/users")) == "The role is changed."


async def test_deactivating_ends_the_users_sessions_at_once_and_reactivating_lets_them_in(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, admin: SignedIn, viewer: SignedIn
) -> None:
    await sign_in(browser, viewer)
    assert (await browser.get("/account")).status_code == 200
    await sign_in(client, admin)

    deactivated = await post_form(
        client, f"/admin/users/{viewer.user.id}/deactivate", {"next": "//evil.example/"}
    )

    assert (deactivated.status_code, deactivated.headers["location"]) == (303, "/admin/users")
    assert (await browser.get("/account")).status_code == 303  # back to the sign-in page
    assert (await browser.get("/api/v1/auth/me", headers=viewer.headers)).status_code == 401
    page = await client.get("/admin/users")
    assert flash_of(page) == "The account is deactivated; its sessions are ended."
    assert "Deactivated" in page.text
    reactivated = await post_form(client, f"/admin/users/{viewer.user.id}/activate")
    assert reactivated.status_code == 303
    await sign_in(browser, viewer)
    assert (await browser.get("/account")).status_code == 200


@pytest.mark.parametrize(("action", "fields"), [("role", {"role": "manager"}), ("deactivate", {})])
async def test_an_admin_cannot_lock_themself_out(
    client: httpx.AsyncClient, admin: SignedIn, action: str, fields: dict[str, str]
) -> None:
    await sign_in(client, admin)

    response = await post_form(client, f"/admin/users/{admin.user.id}/{action}", fields)

    assert response.status_code == 409
    assert "ask another admin" in response.text
    assert await _role(client, admin, admin) == "admin"
    assert (await client.get("/admin/users")).status_code == 200  # still signed in, still admin


async def test_a_manager_gets_the_forbidden_page(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    await sign_in(client, manager)

    page = await client.get("/admin/users")
    promoted = await post_form(client, f"/admin/users/{manager.user.id}/role", {"role": "admin"})
    deactivated = await post_form(client, f"/admin/users/{viewer.user.id}/deactivate")

    assert page.status_code == promoted.status_code == deactivated.status_code == 403
    assert "This page is for admins." in page.text
    assert (await client.get("/account")).status_code == 200


async def test_a_viewer_gets_the_forbidden_page_and_a_visitor_signs_in_first(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)

    assert (await client.get("/admin/users")).status_code == 403
    signed_out = await browser.get("/admin/users")
    assert signed_out.headers["location"] == "/login?next=/admin/users"


async def test_a_post_without_the_csrf_token_changes_nothing(
    client: httpx.AsyncClient, admin: SignedIn, viewer: SignedIn
) -> None:
    await sign_in(client, admin)

    response = await client.post(
        f"/admin/users/{viewer.user.id}/role", data={"role": "admin", "csrf_token": "forged"}
    )

    assert response.status_code == 403
    assert await _role(client, admin, viewer) == "viewer"


@pytest.mark.parametrize(
    ("path", "fields", "status"),
    [
        (f"/admin/users/{NO_SUCH_USER}/role", {"role": "manager"}, 404),
        (f"/admin/users/{NO_SUCH_USER}/deactivate", {}, 404),
        ("/admin/users/42/deactivate", {}, 404),
        ("/admin/users/{viewer}/role", {"role": "emperor"}, 422),
    ],
)
async def test_bad_ids_and_values_are_error_pages(
    client: httpx.AsyncClient,
    admin: SignedIn,
    viewer: SignedIn,
    path: str,
    fields: dict[str, str],
    status: int,
) -> None:
    await sign_in(client, admin)

    response = await post_form(client, path.format(viewer=viewer.user.id), fields)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert await _role(client, admin, viewer) == "viewer"


@pytest.mark.parametrize("query", [{"role": "emperor"}, {"page": "0"}, {"q": "x" * 321}])
async def test_bad_list_queries_are_a_4xx_page(
    client: httpx.AsyncClient, admin: SignedIn, query: dict[str, str]
) -> None:
    await sign_in(client, admin)

    response = await client.get("/admin/users", params=query)

    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("text/html")
