"""Identity rules: accounts, credentials and tokens. Knows nothing of HTTP."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kino.core.db import utcnow
from kino.core.errors import Conflict, InvalidInput
from kino.core.security import decode_jwt, digests_match, encode_jwt
from kino.identity.models import ApiKey, Role, User
from kino.identity.passwords import hash_password, password_weakness
from kino.settings import Settings

API_KEY_PREFIX = "kino"


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    display_name: str,
    role: Role = Role.VIEWER,
) -> User:
    weakness = password_weakness(password)
    if weakness:
        raise InvalidInput(weakness, details=[{"field": "password", "message": weakness}])
    email = normalize_email(email)
    if await get_user_by_email(session, email) is not None:
        raise Conflict("An account with this e-mail address already exists.")
    user = User(
        email=email, password_hash=hash_password(password), display_name=display_name, role=role
    )
    session.add(user)
    await session.flush()
    return user


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == normalize_email(email)))
    return result.scalar_one_or_none()


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


def issue_access_token(settings: Settings, user: User) -> str:
    claims = {"sub": str(user.id), "ver": user.token_version, "typ": "access"}
    return encode_jwt(
        claims, key=settings.signing_key, ttl_seconds=settings.access_token_ttl_seconds
    )


async def user_for_access_token(
    session: AsyncSession, settings: Settings, token: str
) -> User | None:
    claims = decode_jwt(token, key=settings.signing_key)
    if claims is None or claims.get("typ") != "access":
        return None
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        return None
    user = await session.get(User, user_id)
    if user is None or not user.is_active or claims.get("ver") != user.token_version:
        return None
    return user


async def user_for_api_key(session: AsyncSession, key: str) -> User | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    api_key = await session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if (
        api_key is None
        or api_key.revoked_at is not None
        or not digests_match(key, api_key.key_hash)
    ):
        return None
    user = await session.get(User, api_key.user_id)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    # Written at most once a minute: a busy integration should not turn every read into a write.
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        api_key.last_used_at = now
    return user
