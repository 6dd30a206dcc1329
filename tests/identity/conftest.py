from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from kino.app import create_app, dispose
from kino.settings import Settings


@pytest.fixture
async def strict_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with 3 failed sign-ins allowed per account and 5 per client address."""
    strict = settings.model_copy(
        update={
            "login_attempts_per_account": 3,
            "login_attempts_per_address": 5,
            "login_attempts_window_seconds": 120,
        }
    )
    application = create_app(strict)
    yield application
    await dispose(application)
