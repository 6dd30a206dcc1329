"""The site's session cookie and its CSRF protection: signing up, in and out through the forms,
the cookie's flags, the JSON API with the cookie, and password resets."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message

import httpx
import pytest
from fastapi import FastAPI

from kino.app import create_app, dispose
from kino.identity.cookies import CSRF_HEADER, SESSION_COOKIE
from kino.settings import Settings
from tests.factories import SignedIn
from tests.web.conftest import csrf_token, flash_of, post_form, sign_in, sign_up


async def test_signing_up_starts_a_session_in_an_httponly_lax_cookie(
    client: httpx.AsyncClient,
) -> None:
    response = await sign_up(client, display_name="Vera Viewer")

    assert response.headers["location"] == "/"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("kino_session")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the test site is plain http
    home = await client.get("/")
    assert "Hello, Vera Viewer" in home.text
    assert flash_of(home) == "Welcome to Kino! Your account is ready."
    assert flash_of(await client.get("/")) is None  # shown once


async def test_the_cookie_is_secure_when_the_site_is_served_over_https(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"public_url": "https://kino.example"}))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://kino.example") as http:
            response = await sign_up(http)
    finally:
        await dispose(app)

    cookies = response.headers.get_list("set-cookie")
    assert all("Secure" in cookie for cookie in cookies)


async def test_signing_up_with_a_weak_password_or_a_taken_address_says_why(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    weak = await post_form(
        client,
        "/register",
        {"email": "new@example.com", "password": "short", "display_name": "New"},
    )
    taken = await post_form(
        client,
        "/register",
        {"email": viewer.user.email, "password": "a-long-enough-one-1", "display_name": "Copy"},
    )

    assert weak.status_code == 422
    assert "at least 10 characters" in weak.text
    assert 'value="new@example.com"' in weak.text  # what was typed is kept
    assert taken.status_code == 409
    assert "already exists" in taken.text
    assert SESSION_COOKIE not in client.cookies


async def test_signing_in_goes_on_to_the_page_asked_for(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    response = await sign_in(client, viewer, next_path="/account/history")

    assert response.headers["location"] == "/account/history"
    assert (await client.get("/account/history")).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
async def test_signing_in_never_sends_the_visitor_to_another_site(
    client: httpx.AsyncClient, viewer: SignedIn, target: str
) -> None:
    response = await sign_in(client, viewer, next_path=target)

    assert response.headers["location"] == "/"


async def test_a_wrong_password_shows_the_form_again(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    response = await post_form(
        client, "/login", {"email": viewer.user.email, "password": "not-the-password-1"}
    )

    assert response.status_code == 401
    assert "not right" in response.text
    assert f'value="{viewer.user.email}"' in response.text
    assert SESSION_COOKIE not in client.cookies


async def test_a_form_post_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)

    missing = await client.post("/logout", data={})
    forged = await client.post("/logout", data={"csrf_token": "forged"})

    assert (missing.status_code, forged.status_code) == (403, 403)
    assert "CSRF" in missing.text
    assert "Hello, Vera Viewer" in (await client.get("/")).text  # still signed in


async def test_a_csrf_token_is_worthless_in_another_browser(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)
    stolen = await csrf_token(client, "/")
    browser.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    await browser.get("/")  # gets its own kino_csrf cookie

    response = await browser.post("/logout", data={"csrf_token": stolen})

    assert response.status_code == 403


async def test_signing_out_ends_the_session_for_good(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)
    session_cookie = client.cookies[SESSION_COOKIE]

    response = await post_form(client, "/logout", token=await csrf_token(client, "/"))

    assert response.status_code == 303
    assert SESSION_COOKIE not in client.cookies
    assert flash_of(await client.get("/")) == "You are signed out."
    browser.cookies.set(SESSION_COOKIE, session_cookie)  # a copy of the old cookie
    assert (await browser.get("/api/v1/auth/me")).status_code == 401
    assert "Sign in" in (await browser.get("/")).text


async def test_a_stale_session_cookie_is_a_signed_out_visitor_and_is_dropped(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.set(SESSION_COOKIE, "no-such-session")

    page = await client.get("/")

    assert page.status_code == 200
    assert "Sign up" in page.text
    assert any(c.startswith(f'{SESSION_COOKIE}=""') for c in page.headers.get_list("set-cookie"))


async def test_the_api_accepts_the_session_cookie_and_wants_the_csrf_header_for_changes(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)
    token = await csrf_token(client, "/")

    me = await client.get("/api/v1/auth/me")
    without = await client.patch("/api/v1/auth/me", json={"display_name": "Changed"})
    wrong = await client.patch(
        "/api/v1/auth/me", json={"display_name": "Changed"}, headers={CSRF_HEADER: "nope"}
    )
    with_token = await client.patch(
        "/api/v1/auth/me", json={"display_name": "Vera V."}, headers={CSRF_HEADER: token}
    )

    assert (me.status_code, me.json()["email"]) == (200, viewer.user.email)
    assert (without.status_code, without.json()["error"]["code"]) == (403, "csrf_failed")
    assert wrong.status_code == 403
    assert (with_token.status_code, with_token.json()["display_name"]) == (200, "Vera V.")


async def test_bearer_and_api_key_callers_need_no_csrf_header(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    created = await client.post("/api/v1/api-keys", json={"name": "bot"}, headers=viewer.headers)
    key = created.json()["key"]

    by_bearer = await client.patch(
        "/api/v1/auth/me", json={"display_name": "Bearer"}, headers=viewer.headers
    )
    by_key = await client.patch(
        "/api/v1/auth/me", json={"display_name": "Keyed"}, headers={"X-API-Key": key}
    )

    assert (by_bearer.status_code, by_key.status_code) == (200, 200)


async def test_a_bearer_token_wins_over_someone_elses_cookie(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn
) -> None:
    await sign_in(client, viewer)

    me = await client.get("/api/v1/auth/me", headers=other.headers)

    assert me.json()["email"] == other.user.email


async def test_changing_the_password_keeps_this_browser_signed_in_and_ends_the_others(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)
    await sign_in(browser, viewer)

    response = await post_form(
        client,
        "/account/password",
        {"current_password": viewer.password, "new_password": "a-brand-new-secret-7"},
        token=await csrf_token(client, "/account"),
    )

    assert response.status_code == 303
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    assert (await browser.get("/api/v1/auth/me")).status_code == 401


async def test_a_forgotten_password_is_reset_through_the_mailed_link(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, viewer: SignedIn
) -> None:
    response = await post_form(client, "/forgot-password", {"email": viewer.user.email})
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert "reset its password" in (flash_of(await client.get("/login")) or "")
    link = re.search(r"http\S+/reset-password\?token=(\S+)", _body(_only_mail(settings)))
    assert link is not None

    form = await client.get(f"/reset-password?token={link.group(1)}")
    assert form.status_code == 200
    reset = await post_form(
        client,
        "/reset-password",
        {"token": link.group(1), "password": "chosen-again-2024"},
        token=await csrf_token(client, f"/reset-password?token={link.group(1)}"),
    )

    assert (reset.status_code, reset.headers["location"]) == (303, "/login")
    signed_in = await post_form(
        client, "/login", {"email": viewer.user.email, "password": "chosen-again-2024"}
    )
    assert signed_in.status_code == 303


async def test_a_used_or_made_up_reset_token_is_refused_with_a_message(
    client: httpx.AsyncClient,
) -> None:
    response = await post_form(
        client, "/reset-password", {"token": "made-up", "password": "whatever-it-is-9"}
    )

    assert response.status_code == 422
    assert "form-errors" in response.text


def _only_mail(settings: Settings) -> Message:
    mails = sorted(settings.outbox_dir.glob("*.eml"))
    assert len(mails) == 1
    return message_from_bytes(mails[0].read_bytes())


def _body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()
