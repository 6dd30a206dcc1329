from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from kino.app import create_app, dispose
from kino.identity import passwords
from kino.settings import Settings

# Still Argon2id, with the smallest cost: these tests check rules, not the hash's strength
# (tests/identity/test_passwords.py and the CLI test use the real parameters).
_CHEAP_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_hasher", _CHEAP_HASHER)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", _CHEAP_HASHER.hash("dummy-password-1"))


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
