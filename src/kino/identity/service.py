"""Identity rules: accounts, roles, API keys, and who a credential belongs to. Knows nothing of
HTTP. Signing in, refresh tokens and passwords are in ``identity.sessions``."""

from __future__ import annotations

import asyncio
import enum
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import structlog
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from kino.core.db import utcnow
from kino.core.errors import NotFound
from kino.core.pagination import PageParams
from kino.core.reads import DriverRead
from kino.core.security import decode_jwt, digests_match, encode_jwt, new_token, token_digest
from kino.identity.errors import EmailTaken, SelfLockout, TooManyApiKeys, WeakPassword
from kino.identity.models import ApiKey, RefreshToken, Role, User
from kino.identity.passwords import hash_password, password_weakness
from kino.settings import Settings

log = structlog.get_logger("kino.identity")

API_KEY_PREFIX = "kino"
API_KEY_PREFIX_BYTES = 6  # 12 hex characters: fits ApiKey.prefix, never contains "_"
MAX_API_KEYS_PER_USER = 25


class Unset(enum.Enum):
    """Marks an argument that was not given, where None means "clear it"."""

    UNSET = enum.auto()


UNSET = Unset.UNSET


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def hash_new_password(password: str, *, field: str = "password") -> str:
    """The Argon2 hash of an acceptable new password; ``WeakPassword`` says why one is not."""
    weakness = password_weakness(password)
    if weakness:
        raise WeakPassword(weakness, field=field)
    # Argon2 takes a good part of a second of CPU; off the event loop, other requests go on.
    return await asyncio.to_thread(hash_password, password)


# --- accounts ------------------------------------------------------------------------------


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    display_name: str,
    role: Role = Role.VIEWER,
) -> User:
    email = normalize_email(email)
    password_hash = await hash_new_password(password)
    if await get_user_by_email(session, email) is not None:
        raise EmailTaken("An account with this e-mail address already exists.")
    user = User(email=email, password_hash=password_hash, display_name=display_name, role=role)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # the unique index settles a race that the check above lost
        raise EmailTaken("An account with this e-mail address already exists.") from None
    log.info("identity.user.created", user_id=str(user.id), role=user.role.value)
    return user


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == normalize_email(email)))
    return result.scalar_one_or_none()


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    return user


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def update_profile(
    session: AsyncSession,
    user: User,
    *,
    display_name: str | None = None,
    birth_date: date | Unset | None = UNSET,
) -> User:
    """Change what the user may change about themself; ``birth_date=None`` clears it."""
    if display_name is not None:
        user.display_name = display_name
    if not isinstance(birth_date, Unset):
        user.birth_date = birth_date
    await session.flush()
    return user


# --- administration ------------------------------------------------------------------------


async def list_users(
    session: AsyncSession, paging: PageParams, *, role: Role | None = None, query: str | None = None
) -> tuple[Sequence[User], int]:
    """One page of users (newest first) and how many match, by role and by text in the
    e-mail address or name."""
    conditions = []
    if role is not None:
        conditions.append(User.role == role)
    if query:
        pattern = f"%{_escape_like(query.lower())}%"
        conditions.append(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    total = await session.scalar(select(func.count()).select_from(User).where(*conditions))
    users = await session.scalars(
        select(User)
        .where(*conditions)
        .order_by(User.created_at.desc(), User.id)
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    return users.all(), int(total or 0)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def set_role(session: AsyncSession, actor: User, user_id: uuid.UUID, role: Role) -> User:
    user = await get_user(session, user_id)
    if user.id == actor.id and role != Role.ADMIN:
        raise SelfLockout("You cannot take away your own admin role; ask another admin.")
    log.info("identity.user.role_changed", user_id=str(user.id), role=role.value, by=str(actor.id))
    user.role = role
    await session.flush()
    return user


async def set_active(session: AsyncSession, actor: User, user_id: uuid.UUID, active: bool) -> User:
    """Deactivating ends every session of the user at once; their API keys stop working
    until they are activated again."""
    user = await get_user(session, user_id)
    if user.id == actor.id and not active:
        raise SelfLockout("You cannot deactivate your own account; ask another admin.")
    if user.is_active and not active:
        await end_all_sessions(session, user)
    if user.is_active != active:
        event = "identity.user.activated" if active else "identity.user.deactivated"
        log.info(event, user_id=str(user.id), by=str(actor.id))
    user.is_active = active
    await session.flush()
    return user


async def end_all_sessions(session: AsyncSession, user: User) -> None:
    """Every access token of ``user`` stops working now, and every refresh token with it."""
    user.token_version += 1
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --- access tokens -------------------------------------------------------------------------


def issue_access_token(settings: Settings, user: User) -> str:
    claims = {"sub": str(user.id), "ver": user.token_version, "typ": "access"}
    return encode_jwt(
        claims, key=settings.signing_key, ttl_seconds=settings.access_token_ttl_seconds
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """A signed-in caller whose user row is still to be checked, by the endpoint's own first
    query: the user must exist, be active, and still be at ``token_version`` (which a password
    change or "sign out everywhere" moves on, ending every token issued before)."""

    user_id: uuid.UUID
    token_version: int

    @classmethod
    def of(cls, user: User) -> Caller:
        return cls(user.id, user.token_version)

    def is_current(self, *, active: bool | None, token_version: int | None) -> bool:
        """Whether the caller's user row, as read (None where there is no such user), still
        accepts the caller's credentials."""
        return bool(active) and token_version == self.token_version


def caller_for_access_token(settings: Settings, token: str) -> Caller | None:
    """The caller a valid, unexpired access token names, checked without the database; None
    for anything else."""
    claims = decode_jwt(token, key=settings.signing_key)
    if claims is None or claims.get("typ") != "access":
        return None
    version = claims.get("ver")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        return None
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    return Caller(user_id, version)


async def user_for_access_token(
    session: AsyncSession, settings: Settings, token: str
) -> User | None:
    caller = caller_for_access_token(settings, token)
    if caller is None:
        return None
    user = await _user_by_id(session, caller.user_id)
    if user is None or not caller.is_current(
        active=user.is_active, token_version=user.token_version
    ):
        return None
    return user


_USER_BY_ID = DriverRead(
    select(*User.__table__.c).where(User.__table__.c.id == bindparam("user_id"))
)


async def _user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """``session.get(User, user_id)`` for the lookup that every signed-in request makes: read
    through the driver, its row made into the session's instance without the ORM's loading
    path (about a quarter of a millisecond of CPU less than the ORM's ``get``)."""
    known = session.identity_map.get(identity_key(User, user_id))
    if isinstance(known, User):
        return known
    records = await _USER_BY_ID.records(session, user_id=user_id)
    if not records:
        return None
    user = User(**records[0]._asdict())
    make_transient_to_detached(user)  # as if loaded: no pending changes, no INSERT
    session.add(user)
    return user


# --- API keys ------------------------------------------------------------------------------


async def create_api_key(session: AsyncSession, user: User, *, name: str) -> tuple[ApiKey, str]:
    """A new key for ``user`` and its whole text, which is never stored and never shown again."""
    if len(await list_api_keys(session, user)) >= MAX_API_KEYS_PER_USER:
        raise TooManyApiKeys(
            f"You have {MAX_API_KEYS_PER_USER} API keys; revoke one before making another."
        )
    prefix = secrets.token_hex(API_KEY_PREFIX_BYTES)
    key = f"{API_KEY_PREFIX}_{prefix}_{new_token(32)}"
    api_key = ApiKey(
        user_id=user.id, name=name, prefix=prefix, key_hash=token_digest(key), created_at=utcnow()
    )
    session.add(api_key)
    await session.flush()
    return api_key, key


async def list_api_keys(session: AsyncSession, user: User) -> Sequence[ApiKey]:
    keys = await session.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    return keys.all()


async def revoke_api_key(session: AsyncSession, user: User, key_id: uuid.UUID) -> None:
    """Someone else's key is as unknown to ``user`` as a key that never existed."""
    api_key = await session.get(ApiKey, key_id)
    if api_key is None or api_key.user_id != user.id or api_key.revoked_at is not None:
        raise NotFound("You have no such API key.")
    api_key.revoked_at = utcnow()
    await session.flush()


async def user_for_api_key(session: AsyncSession, key: str) -> User | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) > 16:
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
