"""Security primitives: random tokens, their digests, and signed JWTs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
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


def decode_jwt(token: str, *, key: str) -> Mapping[str, Any] | None:
    """The claims of a valid, unexpired token signed with ``key``; None for anything else.

    A client sends the same access token with every request until it expires; checking its
    signature and claims again each time cost about a tenth of a millisecond. So the claims of
    the tokens verified last are kept (only valid ones: a forged or broken token costs the full
    check every time and takes no room), and only their expiry is checked again."""
    verified = _verified_tokens.get((key, token))
    if verified is not None:
        if verified["exp"] > time.time():
            return verified
        del _verified_tokens[(key, token)]
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "iat", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    if len(_verified_tokens) >= VERIFIED_TOKENS_KEPT:
        del _verified_tokens[next(iter(_verified_tokens))]  # the oldest
    frozen = MappingProxyType(claims)
    _verified_tokens[(key, token)] = frozen
    return frozen


VERIFIED_TOKENS_KEPT = 4096
_verified_tokens: dict[tuple[str, str], Mapping[str, Any]] = {}
