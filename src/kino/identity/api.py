"""Identity endpoints: /auth (accounts and sessions), /users (admin) and /api-keys."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Response

from kino.core.http import AppSettings, DbSession
from kino.core.mail import AppMailer, send_quietly
from kino.core.pagination import Page, Paging
from kino.core.ratelimit import AppRateLimiter
from kino.identity import service, sessions
from kino.identity.dependencies import (
    AdminUser,
    AppDatabase,
    ClientAddress,
    CurrentUser,
    LoginCredentials,
)
from kino.identity.models import Role
from kino.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    LoginRequest,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    ProfileUpdate,
    RefreshRequest,
    RegisterRequest,
    ResetRequested,
    RoleUpdate,
    SearchText,
    TokenPair,
    UserRead,
)

auth_router = APIRouter(prefix="/auth", tags=["auth"])
users_router = APIRouter(prefix="/users", tags=["users"])
api_keys_router = APIRouter(prefix="/api-keys", tags=["api keys"])

_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginRequest.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string", "description": "The e-mail address."},
                        "password": {"type": "string", "format": "password"},
                        "grant_type": {"type": "string", "enum": ["password"]},
                    },
                }
            },
        },
    }
}


# --- /auth ---------------------------------------------------------------------------------


@auth_router.post("/register", status_code=201)
async def register(body: RegisterRequest, session: DbSession) -> UserRead:
    user = await service.create_user(
        session, email=body.email, password=body.password, display_name=body.display_name
    )
    return UserRead.model_validate(user)


@auth_router.post("/login", openapi_extra=_LOGIN_BODY)
async def login(
    credentials: LoginCredentials,
    session: DbSession,
    settings: AppSettings,
    limiter: AppRateLimiter,
    client_address: ClientAddress,
) -> TokenPair:
    """Sign in with JSON ``{email, password}`` or the OAuth2 password form."""
    return await sessions.sign_in(
        session,
        settings,
        limiter,
        email=credentials.email,
        password=credentials.password,
        client_address=client_address,
    )


@auth_router.post("/refresh")
async def refresh(body: RefreshRequest, db: AppDatabase, settings: AppSettings) -> TokenPair:
    """Trade a refresh token (used up by this) for a new pair."""
    return await sessions.refresh(db, settings, body.refresh_token)


@auth_router.post("/logout", status_code=204)
async def logout(body: RefreshRequest, session: DbSession) -> Response:
    await sessions.sign_out(session, refresh_token=body.refresh_token)
    return Response(status_code=204)


@auth_router.get("/me")
async def read_me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@auth_router.patch("/me")
async def update_me(body: ProfileUpdate, user: CurrentUser, session: DbSession) -> UserRead:
    changed = await service.update_profile(session, user, **body.model_dump(exclude_unset=True))
    return UserRead.model_validate(changed)


@auth_router.post("/password")
async def change_password(
    body: PasswordChange,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    limiter: AppRateLimiter,
) -> TokenPair:
    """Every session ends, this one too: continue with the token pair in the answer."""
    return await sessions.change_password(
        session,
        settings,
        limiter,
        user,
        current_password=body.current_password,
        new_password=body.new_password,
    )


@auth_router.post("/password-reset", status_code=202)
async def request_password_reset(
    body: PasswordResetRequest,
    session: DbSession,
    settings: AppSettings,
    limiter: AppRateLimiter,
    mailer: AppMailer,
    client_address: ClientAddress,
    background: BackgroundTasks,
) -> ResetRequested:
    """Always 202: the answer does not tell whether the address has an account."""
    mail = await sessions.request_password_reset(
        session, settings, limiter, email=body.email, client_address=client_address
    )
    if mail is not None:
        # After the response (and so after the commit), and at no cost visible to the caller.
        background.add_task(send_quietly, mailer, mail)
    return ResetRequested(message="If an account has this address, a reset link is on its way.")


@auth_router.post("/password-reset/confirm", status_code=204)
async def confirm_password_reset(body: PasswordResetConfirm, session: DbSession) -> Response:
    await sessions.confirm_password_reset(session, token=body.token, password=body.password)
    return Response(status_code=204)


# --- /users (admin) ------------------------------------------------------------------------


@users_router.get("")
async def list_users(
    admin: AdminUser,
    session: DbSession,
    paging: Paging,
    role: Role | None = None,
    q: Annotated[SearchText | None, Query(description="Text in the e-mail or name.")] = None,
) -> Page[UserRead]:
    users, total = await service.list_users(session, paging, role=role, query=q)
    items = [UserRead.model_validate(user) for user in users]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@users_router.get("/{user_id}")
async def read_user(user_id: uuid.UUID, admin: AdminUser, session: DbSession) -> UserRead:
    return UserRead.model_validate(await service.get_user(session, user_id))


@users_router.patch("/{user_id}")
async def change_role(
    user_id: uuid.UUID, body: RoleUpdate, admin: AdminUser, session: DbSession
) -> UserRead:
    return UserRead.model_validate(await service.set_role(session, admin, user_id, body.role))


@users_router.post("/{user_id}/deactivate")
async def deactivate_user(user_id: uuid.UUID, admin: AdminUser, session: DbSession) -> UserRead:
    return UserRead.model_validate(await service.set_active(session, admin, user_id, False))


@users_router.post("/{user_id}/activate")
async def activate_user(user_id: uuid.UUID, admin: AdminUser, session: DbSession) -> UserRead:
    return UserRead.model_validate(await service.set_active(session, admin, user_id, True))


# --- /api-keys -----------------------------------------------------------------------------


@api_keys_router.post("", status_code=201)
async def create_api_key(
    body: ApiKeyCreate, user: CurrentUser, session: DbSession
) -> ApiKeyCreated:
    api_key, key = await service.create_api_key(session, user, name=body.name)
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=key)


@api_keys_router.get("")
async def list_api_keys(user: CurrentUser, session: DbSession) -> list[ApiKeyRead]:
    return [ApiKeyRead.model_validate(key) for key in await service.list_api_keys(session, user)]


@api_keys_router.delete("/{key_id}", status_code=204)
async def revoke_api_key(key_id: uuid.UUID, user: CurrentUser, session: DbSession) -> Response:
    await service.revoke_api_key(session, user, key_id)
    return Response(status_code=204)


router = APIRouter()
router.include_router(auth_router)
router.include_router(users_router)
router.include_router(api_keys_router)
