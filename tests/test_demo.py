"""The setup half of ``kino demo`` (src/kino/demo.py): migrate, seed, create the admin."""

from __future__ import annotations

import stat

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from kino.catalog.models import Movie
from kino.demo import DEMO_ADMIN_EMAIL, password_file, prepare_demo
from kino.identity import service as identity
from kino.identity.models import Role, User
from kino.identity.passwords import hash_password
from kino.settings import Settings
from tests.identity.signin import login

FILMS = 40  # of the demo catalog: enough to see it arrive, quick in both modes


async def test_demo_creates_the_admin_once_and_prints_the_same_password_every_time(
    settings: Settings, app: FastAPI, client: httpx.AsyncClient
) -> None:
    said: list[str] = []

    first = await prepare_demo(settings, say=said.append, catalog_limit=FILMS)
    second = await prepare_demo(settings, catalog_limit=FILMS)

    assert first.email == DEMO_ADMIN_EMAIL
    assert first.password is not None
    assert first.note is None
    assert second == first
    assert any("Added 40 films" in line for line in said)
    assert stat.S_IMODE(password_file(settings).stat().st_mode) == 0o600
    assert password_file(settings).read_text().strip() == first.password
    async with app.state.db.transaction() as session:
        admins = (await session.scalars(select(User).where(User.role == Role.ADMIN))).all()
        assert [admin.email for admin in admins] == [DEMO_ADMIN_EMAIL]
        assert await session.scalar(select(func.count()).select_from(Movie)) == FILMS
    await login(client, DEMO_ADMIN_EMAIL, first.password)


async def test_demo_says_so_when_the_admin_password_was_changed(
    settings: Settings, app: FastAPI
) -> None:
    await prepare_demo(settings, catalog_limit=FILMS)
    async with app.state.db.transaction() as session:
        admin = await identity.get_user_by_email(session, DEMO_ADMIN_EMAIL)
        assert admin is not None
        admin.password_hash = hash_password("changed-by-the-admin-7")

    credentials = await prepare_demo(settings, catalog_limit=FILMS)

    assert credentials.password is None
    assert credentials.note is not None
    assert "changed" in credentials.note


async def test_demo_does_not_claim_an_admin_it_did_not_create(
    settings: Settings, app: FastAPI
) -> None:
    async with app.state.db.transaction() as session:
        await identity.create_user(
            session,
            email=DEMO_ADMIN_EMAIL,
            password="chosen-by-someone-9",
            display_name="Someone",
            role=Role.ADMIN,
        )

    credentials = await prepare_demo(settings, catalog_limit=FILMS)

    assert credentials.password is None
    assert credentials.note is not None
    assert "not created by the demo" in credentials.note
    assert not password_file(settings).exists()
