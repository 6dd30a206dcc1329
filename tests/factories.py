"""Factory functions with keyword defaults for test data."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from fastapi import FastAPI

from kino.identity import service as identity
from kino.identity.models import Role, User

DEFAULT_PASSWORD = "correct-horse-42"
_sequence = itertools.count(1)


@dataclass
class SignedIn:
    user: User
    token: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_user(
    app: FastAPI,
    *,
    role: Role = Role.VIEWER,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    display_name: str | None = None,
) -> SignedIn:
    """A committed user and a valid access token for them."""
    number = next(_sequence)
    async with app.state.db.transaction() as session:
        user = await identity.create_user(
            session,
            email=email or f"user{number}@example.com",
            password=password,
            display_name=display_name or f"User {number}",
            role=role,
        )
    token = identity.issue_access_token(app.state.settings, user)
    return SignedIn(user=user, token=token, password=password)
