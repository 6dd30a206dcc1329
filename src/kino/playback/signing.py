"""Signed stream paths: ``/stream/{token}/{expires}/{asset_id}/{file}``.

One token covers everything under an asset (the master playlist, the variants, segments, images,
storyboard and subtitles, all reached through relative URIs) until ``expires`` (Unix seconds).

Why MD5 and not an HMAC: in distributed mode nginx serves these paths itself, and the only
check stock nginx can make is its ``secure_link`` module's, which compares the path's token with
``base64url(md5(expression))``; no HMAC is built in (an HMAC would need a third-party module or a
round trip to the app per segment). So the token is exactly what ``secure_link_md5`` computes::

    token = base64url_without_padding(md5(f"{expires}/{asset_id} {secret}"))

and the app checks the same bytes in constant time. What keeps that sound:

- the secret comes last, so MD5's length extension (which forges ``md5(secret + message + x)``)
  does not apply, and the message is made by Kino from two numbers: there is no chosen-prefix
  collision for an attacker to plant;
- the ``/`` between the two numbers keeps them apart: without it the token for expires
  1700000000 and asset 12 would also sign expires 17000000001 and asset 2, a link valid for
  centuries;
- the secret is derived from ``KINO_SECRET_KEY`` for this purpose only (an HMAC of a fixed
  label): it is written into nginx's configuration, and knowing it signs stream paths and
  nothing else (not access tokens, not password resets).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from kino.settings import Settings

STREAM_ROOT = "/stream"
MASTER_PLAYLIST = "master.m3u8"
_SECRET_LABEL = b"kino.playback.stream-path.v1"
# The shapes nginx's location accepts too (deploy/nginx): a token of 16 bytes in base64url, Unix
# seconds, and an asset id without leading zeros.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")
EXPIRES_PATTERN = re.compile(r"[0-9]{1,12}")
ASSET_ID_PATTERN = re.compile(r"[1-9][0-9]{0,18}")
MAX_ASSET_ID = 2**63 - 1


@lru_cache(maxsize=8)
def derive_stream_secret(signing_key: str) -> str:
    """The stream secret for a ``KINO_SECRET_KEY``: 43 URL-safe characters, safe to quote in an
    nginx configuration."""
    digest = hmac.new(signing_key.encode(), _SECRET_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def stream_secret(settings: Settings) -> str:
    """The secret nginx's ``secure_link_md5`` needs (``kino stream-secret`` prints it)."""
    return derive_stream_secret(settings.signing_key)


def stream_token(secret: str, expires: str, asset_id: str) -> str:
    """The token nginx's ``secure_link`` expects for these exact path segments."""
    digest = hashlib.md5(f"{expires}/{asset_id} {secret}".encode(), usedforsecurity=False)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class SignedStream:
    """The signed prefix of one asset: ``/stream/{token}/{expires}/{asset_id}/``."""

    token: str
    expires: int
    asset_id: int

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)

    @property
    def prefix(self) -> str:
        return f"{STREAM_ROOT}/{self.token}/{self.expires}/{self.asset_id}/"

    def path(self, relative: str = MASTER_PLAYLIST) -> str:
        return self.prefix + relative


def sign_stream(secret: str, asset_id: int, expires_at: datetime) -> SignedStream:
    """A prefix for ``asset_id`` valid until ``expires_at`` (rounded down to the second)."""
    expires = int(expires_at.timestamp())
    return SignedStream(stream_token(secret, str(expires), str(asset_id)), expires, asset_id)


def verify_stream_path(secret: str, token: str, expires: str, asset_id: str, *, now: float) -> bool:
    """Whether the path segments carry a valid, unexpired token, as nginx decides it: the token
    is compared in constant time, and a path is good up to and including its ``expires``
    second."""
    if not (
        TOKEN_PATTERN.fullmatch(token)
        and EXPIRES_PATTERN.fullmatch(expires)
        and ASSET_ID_PATTERN.fullmatch(asset_id)
        and int(asset_id) <= MAX_ASSET_ID
    ):
        return False
    expected = stream_token(secret, expires, asset_id)
    return hmac.compare_digest(expected.encode(), token.encode()) and int(expires) >= int(now)
