"""Fixtures for the playback tests: a manager who makes films, a viewer who watches them."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from kino.identity.models import Role
from tests.factories import SignedIn, make_user


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


@pytest.fixture
async def viewer(app: FastAPI) -> SignedIn:
    return await make_user(app)
