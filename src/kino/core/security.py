"""Security primitives: random tokens, their digests, and signed JWTs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

JWT_ALGORITHM = "HS256"


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """SHA-256 of a high-entropy token; enough for opaque tokens (no salt or stretching needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def digests_match(token: str, digest: str) -> bool:
    return hmac.compare_digest(token_digest(token), digest)


def encode_jwt(claims: dict[str, Any], *, key: str, ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    payload = {**claims, "iat": now, "exp": now + timedelta(seconds=ttl_seconds)}
    return jwt.encode(payload, key, algorithm=JWT_ALGORITHM)


def decode_jwt(token: str, *, key: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token signed with ``key``; None for anything else."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "iat", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    return claims
