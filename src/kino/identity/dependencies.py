"""Who is calling: a Bearer access token or an ``X-API-Key``, resolved to an active user."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from kino.core.errors import PermissionDenied, Unauthenticated
from kino.core.http import AppSettings, DbSession
from kino.identity import service
from kino.identity.models import Role, User

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


async def optional_user(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    token: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> User | None:
    """The caller, or None when no credentials were sent. Bad credentials are a 401, not None."""
    if token:
        user = await service.user_for_access_token(session, settings, token)
    elif api_key:
        user = await service.user_for_api_key(session, api_key)
    else:
        return None
    if user is None:
        raise Unauthenticated("The access token or API key is invalid or has expired.")
    request.state.user_id = user.id
    return user


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthenticated("Sign in to do this.")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]


def require_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = " or ".join(sorted(role.value for role in allowed))
            raise PermissionDenied(f"This needs the {names} role.")
        return user

    return check


StaffUser = Annotated[User, Depends(require_role(Role.MANAGER, Role.ADMIN))]
AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]
ModeratorUser = Annotated[User, Depends(require_role(Role.MODERATOR, Role.ADMIN))]


def is_staff(user: User | None) -> bool:
    return user is not None and user.role in (Role.MANAGER, Role.ADMIN)


def parse_user_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
