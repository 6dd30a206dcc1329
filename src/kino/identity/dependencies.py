"""Who is calling: a Bearer access token, an ``X-API-Key`` or the web site's session cookie,
resolved to an active user; and what the sign-in endpoints read from the request."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from pydantic import ValidationError

from kino.core.db import Database
from kino.core.errors import PermissionDenied, Unauthenticated
from kino.core.http import AppSettings, DbSession, app_database, app_settings
from kino.identity import service, sessions
from kino.identity.cookies import SESSION_COOKIE, check_csrf_header
from kino.identity.errors import INVALID_CREDENTIALS
from kino.identity.models import MODERATOR_ROLES, STAFF_ROLES, Role, User
from kino.identity.schemas import LoginRequest, OAuth2LoginForm
from kino.identity.service import Caller

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


async def optional_user(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    token: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> User | None:
    """The caller, or None when no credentials were sent. Bad credentials are a 401, not None;
    an expired session cookie is a signed-out visitor (a browser keeps sending stale cookies).
    A change made with the cookie must carry the page's CSRF token in ``X-CSRF-Token``."""
    if token:
        user = await service.user_for_access_token(session, settings, token)
    elif api_key:
        user = await service.user_for_api_key(session, api_key)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        user = await sessions.user_for_session(session, cookie)
        if user is None:
            return None
        check_csrf_header(settings, request)
    else:
        return None
    if user is None:
        raise Unauthenticated(INVALID_CREDENTIALS)
    request.state.user_id = user.id
    return user


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthenticated("Sign in to do this.")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]


async def _database(request: Request) -> Database:
    return app_database(request)


# For a service that owns its unit of work (``sessions.refresh``, ``holds.hold_seats_alone``);
# endpoints otherwise take ``DbSession``.
AppDatabase = Annotated[Database, Depends(_database)]


async def current_caller(request: Request) -> Caller:
    """The caller, for an endpoint that checks the caller's user row in its own first query (a
    seat hold): a bearer token is checked here without the database, which saves the busiest
    path a round trip and a session. An API key or the session cookie is resolved as for
    ``CurrentUser``, in a session of its own. 401 when there is no valid credential.

    The endpoint calls it itself rather than as a dependency, and it reads the credentials, the
    settings and the database off the request: each dependency FastAPI solves costs CPU
    (``app_settings``). So a malformed body is a 422 before a missing credential is a 401. The
    schemes it reads are documented with ``CALLER_SECURITY``."""
    settings = app_settings(request)
    token = await bearer_scheme(request)
    if token:
        caller = service.caller_for_access_token(settings, token)
        if caller is None:
            raise Unauthenticated(INVALID_CREDENTIALS)
    else:
        api_key = await api_key_scheme(request)
        async with app_database(request).transaction() as session:
            user = await optional_user(request, session, settings, None, api_key)
        if user is None:
            raise Unauthenticated("Sign in to do this.")
        caller = Caller.of(user)
    request.state.user_id = caller.user_id
    return caller


# The OpenAPI security of an endpoint that calls ``current_caller`` (its ``openapi_extra``): the
# schemes that it reads without declaring them as dependencies.
CALLER_SECURITY: dict[str, Any] = {
    "security": [{bearer_scheme.scheme_name: []}, {api_key_scheme.scheme_name: []}],
}


def require_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = " or ".join(sorted(role.value for role in allowed))
            raise PermissionDenied(f"This needs the {names} role.")
        return user

    return check


StaffUser = Annotated[User, Depends(require_role(*STAFF_ROLES))]
AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]
ModeratorUser = Annotated[User, Depends(require_role(*MODERATOR_ROLES))]


def is_staff(user: User | None) -> bool:
    return user is not None and user.role in STAFF_ROLES


def parse_user_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def _client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(_client_address)]

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _login_credentials(request: Request) -> LoginRequest:
    """JSON ``{email, password}``, or the OAuth2 password form (``username``, ``password``) that
    the "Authorize" button of /docs posts."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in FORM_CONTENT_TYPES:
            async with request.form(max_files=0, max_fields=10) as form:
                return OAuth2LoginForm.model_validate(dict(form)).as_login()
        return LoginRequest.model_validate_json(await request.body())
    except ValidationError as error:
        located = [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        raise RequestValidationError(located) from None


LoginCredentials = Annotated[LoginRequest, Depends(_login_credentials)]
