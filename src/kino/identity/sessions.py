"""Signing in and out: passwords, short-lived access JWTs, rotating refresh tokens and password
reset by e-mail. Knows nothing of HTTP.

A sign-in starts a refresh-token *family*. Each refresh uses up the presented token and issues
its successor in the same family; presenting a used token again means it was copied, so the
whole family is revoked and both the thief and the owner must sign in again.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import cast

import structlog
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kino.core.db import Database, utcnow
from kino.core.mail import compose_mail
from kino.core.ratelimit import Rate, RateLimiter, ensure_allowed
from kino.core.security import new_token, token_digest
from kino.identity import service
from kino.identity.errors import (
    AccountDeactivated,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidResetToken,
    WeakPassword,
    WrongPassword,
)
from kino.identity.models import PasswordResetToken, RefreshToken, User
from kino.identity.passwords import verify_and_update, verify_password
from kino.identity.schemas import TokenPair
from kino.settings import Settings

log = structlog.get_logger("kino.identity")

TOO_MANY_FAILURES = "Too many failed sign-in attempts. Wait a little and try again."
# Reset mails: a few per account and hour (more would be mail-bombing), and a bound on what one
# address may ask for, whatever the accounts.
RESET_MAILS_PER_ACCOUNT = Rate("password-reset-mail", amount=3, window_seconds=3600)
RESET_REQUESTS_PER_ADDRESS = Rate("password-reset-address", amount=20, window_seconds=3600)
UNKNOWN_ADDRESS = "unknown"


def login_rates(settings: Settings) -> tuple[Rate, Rate]:
    """Failed sign-ins allowed per account and per client address in the window."""
    window = settings.login_attempts_window_seconds
    return (
        Rate("login-account", settings.login_attempts_per_account, window),
        Rate("login-address", settings.login_attempts_per_address, window),
    )


def _account_key(email: str) -> str:
    # A digest, so the rate limiter's store (Redis) holds no e-mail addresses.
    return token_digest(service.normalize_email(email))[:32]


# --- signing in and out --------------------------------------------------------------------


async def sign_in(
    session: AsyncSession,
    settings: Settings,
    limiter: RateLimiter,
    *,
    email: str,
    password: str,
    client_address: str | None,
) -> TokenPair:
    account_rate, address_rate = login_rates(settings)
    account, address = _account_key(email), client_address or UNKNOWN_ADDRESS
    await ensure_allowed(limiter, account_rate, account, message=TOO_MANY_FAILURES)
    await ensure_allowed(limiter, address_rate, address, message=TOO_MANY_FAILURES)
    user = await service.get_user_by_email(session, email)
    valid, rehashed = await asyncio.to_thread(_check_password, password, user)
    if user is None or not valid:
        await limiter.hit(account_rate, account)
        await limiter.hit(address_rate, address)
        log.info("identity.login.failed", known_account=user is not None, address=address)
        raise InvalidCredentials("The e-mail address or the password is not right.")
    if not user.is_active:
        raise AccountDeactivated("This account has been deactivated.")
    await limiter.reset(account_rate, account)
    if rehashed:
        user.password_hash = rehashed
    user.last_login_at = utcnow()
    return await _start_session(session, settings, user)


def _check_password(password: str, user: User | None) -> tuple[bool, str | None]:
    if user is None:
        return verify_password(password, None), None  # costs what a real check costs
    return verify_and_update(password, user.password_hash)


async def start_session(session: AsyncSession, settings: Settings, user: User) -> TokenPair:
    """A new session for ``user``, whose identity was proven otherwise (just registered)."""
    return await _start_session(session, settings, user)


async def user_for_session(session: AsyncSession, refresh_token: str) -> User | None:
    """The active user whose session ``refresh_token`` is, while it is unused, unrevoked and
    unexpired: how the web site's session cookie (which holds it) is read. The site does not
    rotate it: a page's parallel requests would race to rotate one cookie and look like a
    reused token."""
    token = await _find_refresh_token(session, refresh_token)
    if (
        token is None
        or token.used_at is not None
        or token.revoked_at is not None
        or token.expires_at <= utcnow()
    ):
        return None
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    return user


async def _start_session(
    session: AsyncSession, settings: Settings, user: User, *, family_id: uuid.UUID | None = None
) -> TokenPair:
    refresh_token = new_token(32)
    now = utcnow()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=token_digest(refresh_token),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    await session.flush()
    return TokenPair(
        access_token=service.issue_access_token(settings, user),
        refresh_token=refresh_token,
        expires_in=settings.access_token_ttl_seconds,
    )


async def refresh(db: Database, settings: Settings, refresh_token: str) -> TokenPair:
    """A new token pair for a valid refresh token, which is used up.

    Runs its own unit of work: when a reused token revokes its family, that revocation must be
    stored although the caller gets a 401 (a request's transaction rolls back on errors).
    """
    async with db.transaction() as session:
        tokens = await _rotate(session, settings, refresh_token)
    if tokens is None:
        raise InvalidRefreshToken("The refresh token is invalid, expired or already used.")
    return tokens


async def _rotate(session: AsyncSession, settings: Settings, presented: str) -> TokenPair | None:
    token = await _find_refresh_token(session, presented)
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.used_at is not None:  # even expired: its successors may still be alive
        await _reused(session, token)
        return None
    if token.expires_at <= now:
        return None
    if not await _claim(session, token, now):
        await _reused(session, token)  # a concurrent request used it first
        return None
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    return await _start_session(session, settings, user, family_id=token.family_id)


async def _reused(session: AsyncSession, token: RefreshToken) -> None:
    """A used token came back: a copy is about, so nobody keeps the family."""
    await _revoke_family(session, token.family_id)
    log.warning(
        "identity.refresh_token.reused", user_id=str(token.user_id), family_id=str(token.family_id)
    )


async def _claim(session: AsyncSession, token: RefreshToken, now: datetime) -> bool:
    """Mark ``token`` used unless a concurrent request did so first (then it is a reuse)."""
    result = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[tuple[()]], result).rowcount == 1


async def _find_refresh_token(session: AsyncSession, presented: str) -> RefreshToken | None:
    return await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_digest(presented))
    )


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def sign_out(session: AsyncSession, *, refresh_token: str) -> None:
    """End the session that ``refresh_token`` belongs to. Access tokens cannot be recalled one
    by one, so all of the user's stop working; their other sessions simply refresh."""
    token = await _find_refresh_token(session, refresh_token)
    if token is None:
        return
    await _revoke_family(session, token.family_id)
    user = await session.get(User, token.user_id)
    if user is not None:
        user.token_version += 1
    await session.flush()


# --- passwords -----------------------------------------------------------------------------


async def change_password(
    session: AsyncSession,
    settings: Settings,
    limiter: RateLimiter,
    user: User,
    *,
    current_password: str,
    new_password: str,
) -> TokenPair:
    """Set a new password, end every session (a thief's too) and start a fresh one."""
    account_rate, _ = login_rates(settings)
    account = _account_key(user.email)
    await ensure_allowed(limiter, account_rate, account, message=TOO_MANY_FAILURES)
    if not await asyncio.to_thread(verify_password, current_password, user.password_hash):
        await limiter.hit(account_rate, account)
        raise WrongPassword()
    if new_password == current_password:
        raise WeakPassword(
            "The new password must differ from the current one.", field="new_password"
        )
    user.password_hash = await service.hash_new_password(new_password, field="new_password")
    await _replace_credentials(session, user)
    log.info("identity.password.changed", user_id=str(user.id))
    return await _start_session(session, settings, user)


async def _replace_credentials(session: AsyncSession, user: User) -> None:
    await service.end_all_sessions(session, user)
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.flush()


async def request_password_reset(
    session: AsyncSession,
    settings: Settings,
    limiter: RateLimiter,
    *,
    email: str,
    client_address: str | None,
) -> EmailMessage | None:
    """The reset mail to send, or None. The caller answers the same either way, so nobody
    learns from it whether an account exists."""
    address = client_address or UNKNOWN_ADDRESS
    message = "Too many password reset requests. Wait a little and try again."
    await ensure_allowed(limiter, RESET_REQUESTS_PER_ADDRESS, address, message=message)
    await limiter.hit(RESET_REQUESTS_PER_ADDRESS, address)
    user = await service.get_user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    account = _account_key(user.email)
    if await limiter.retry_after(RESET_MAILS_PER_ACCOUNT, account):
        return None
    await limiter.hit(RESET_MAILS_PER_ACCOUNT, account)
    token = new_token(32)
    now = utcnow()
    ttl = timedelta(seconds=settings.password_reset_ttl_seconds)
    session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=token_digest(token), created_at=now, expires_at=now + ttl
        )
    )
    await session.flush()
    return _reset_mail(settings, user, token)


def _reset_mail(settings: Settings, user: User, token: str) -> EmailMessage:
    minutes = settings.password_reset_ttl_seconds // 60
    link = f"{settings.public_url.rstrip('/')}/reset-password?token={token}"
    text = (
        f"Hello {user.display_name},\n\n"
        "someone (we hope you) asked to reset the password of your Kino account.\n"
        f"Open this link within {minutes} minutes to choose a new password:\n\n"
        f"{link}\n\n"
        f"Or give this code to the app: {token}\n\n"
        "If it was not you, ignore this e-mail: your password stays as it is.\n"
    )
    return compose_mail(
        sender=settings.mail_from, to=user.email, subject="Reset your Kino password", text=text
    )


async def confirm_password_reset(session: AsyncSession, *, token: str, password: str) -> None:
    """Set the password chosen with a reset token; the token and every session end with it."""
    reset = await session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_digest(token))
    )
    now = utcnow()
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise InvalidResetToken()
    user = await session.get(User, reset.user_id)
    if user is None or not user.is_active:
        raise InvalidResetToken()
    password_hash = await service.hash_new_password(password)
    claimed = await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == reset.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[tuple[()]], claimed).rowcount != 1:
        raise InvalidResetToken()  # a concurrent request used it first
    user.password_hash = password_hash
    await _replace_credentials(session, user)
    log.info("identity.password.reset", user_id=str(user.id))
