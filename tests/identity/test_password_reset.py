from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from kino.app import create_app, dispose
from kino.core.db import utcnow
from kino.core.security import token_digest
from kino.identity.models import PasswordResetToken
from kino.settings import Settings
from tests.core.smtp_server import smtp_server
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.identity.signin import error_code, login, login_as

RESET = "/api/v1/auth/password-reset"
CONFIRM = "/api/v1/auth/password-reset/confirm"
NEW_PASSWORD = "brand-new-secret-99"


def _outbox(settings: Settings) -> list[EmailMessage]:
    if not settings.outbox_dir.exists():
        return []
    messages = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def _token_in(message: EmailMessage) -> str:
    body = message.get_body()
    assert body is not None
    found = re.search(r"reset-password\?token=([\w-]+)", body.get_content())
    assert found is not None
    return found.group(1)


async def test_reset_mails_a_link_whose_token_sets_a_new_password(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_user(app)
    response = await client.post(RESET, json={"email": account.user.email.upper()})
    assert response.status_code == 202
    [mail] = _outbox(settings)
    assert mail["To"] == account.user.email
    assert settings.public_url in mail.get_body().get_content()  # type: ignore[union-attr]

    confirmed = await client.post(
        CONFIRM, json={"token": _token_in(mail), "password": NEW_PASSWORD}
    )
    assert confirmed.status_code == 204
    await login(client, account.user.email, NEW_PASSWORD)
    old = await client.post(
        "/api/v1/auth/login", json={"email": account.user.email, "password": DEFAULT_PASSWORD}
    )
    assert old.status_code == 401


async def test_reset_token_works_once(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_user(app)
    await client.post(RESET, json={"email": account.user.email})
    token = _token_in(_outbox(settings)[0])
    await client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    again = await client.post(CONFIRM, json={"token": token, "password": "yet-another-one-5"})
    assert again.status_code == 422
    assert error_code(again) == "invalid_token"


async def test_unknown_address_gets_the_same_answer_and_no_mail(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_user(app)
    known = await client.post(RESET, json={"email": account.user.email})
    unknown = await client.post(RESET, json={"email": "nobody@example.com"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert [mail["To"] for mail in _outbox(settings)] == [account.user.email]


async def test_reset_ends_every_session(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_user(app)
    tokens = await login_as(client, account)
    await client.post(RESET, json={"email": account.user.email})
    token = _token_in(_outbox(settings)[0])
    await client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=account.headers)).status_code == 401


async def test_reset_tokens_are_stored_only_as_digests(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_user(app)
    await client.post(RESET, json={"email": account.user.email})
    token = _token_in(_outbox(settings)[0])
    async with app.state.db.transaction() as session:
        stored = (await session.scalars(select(PasswordResetToken.token_hash))).all()
    assert stored == [token_digest(token)]


async def test_expired_reset_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_user(app)
    await client.post(RESET, json={"email": account.user.email})
    async with app.state.db.transaction() as session:
        await session.execute(
            update(PasswordResetToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    token = _token_in(_outbox(settings)[0])
    response = await client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 422


async def test_weak_new_password_keeps_the_token_usable(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_user(app)
    await client.post(RESET, json={"email": account.user.email})
    token = _token_in(_outbox(settings)[0])
    weak = await client.post(CONFIRM, json={"token": token, "password": "weak"})
    assert weak.status_code == 422
    assert error_code(weak) == "weak_password"
    strong = await client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    assert strong.status_code == 204


async def test_reset_mails_per_account_are_limited_silently(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_user(app)
    for _ in range(5):
        response = await client.post(RESET, json={"email": account.user.email})
        assert response.status_code == 202
    assert len(_outbox(settings)) == 3


async def test_unknown_reset_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(CONFIRM, json={"token": "made-up", "password": NEW_PASSWORD})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "token"


async def test_reset_mail_goes_out_by_smtp_when_configured(settings: Settings) -> None:
    with smtp_server() as server:
        application = create_app(settings.model_copy(update={"smtp_url": server.url}))
        try:
            account = await make_user(application)
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as http:
                response = await http.post(RESET, json={"email": account.user.email})
        finally:
            await dispose(application)
    assert response.status_code == 202
    [mail] = server.inbox.messages
    assert server.inbox.recipients == [account.user.email]
    assert mail["Subject"] == "Reset your Kino password"
    assert _token_in(mail)
    assert not settings.outbox_dir.exists()
