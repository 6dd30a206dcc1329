"""The stream token: exactly what nginx's secure_link_md5 computes, checked like nginx does."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest

from kino.playback.signing import (
    derive_stream_secret,
    sign_stream,
    stream_token,
    verify_stream_path,
)

SECRET = "s3cr3t-for-streams"


def nginx_secure_link_md5(expression: str) -> str:
    """What nginx compares the path's token with: md5 of the expression, base64url without
    padding (ngx_http_secure_link_module)."""
    digest = hashlib.md5(expression.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_the_token_is_nginxs_md5_of_expires_slash_asset_and_the_secret() -> None:
    token = stream_token(SECRET, "1700000000", "42")

    assert token == nginx_secure_link_md5("1700000000/42 s3cr3t-for-streams")
    # A fixed vector, so the scheme cannot change without this test (and nginx) noticing.
    assert token == "xVXuUu4fdz9C7h3woPjHKg"


def test_a_signed_stream_carries_its_token_expiry_and_asset() -> None:
    expires_at = datetime(2030, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)

    signed = sign_stream(SECRET, 42, expires_at)

    expires = int(expires_at.timestamp())
    assert signed.prefix == f"/stream/{stream_token(SECRET, str(expires), '42')}/{expires}/42/"
    assert signed.path() == signed.prefix + "master.m3u8"
    assert signed.expires_at == expires_at.replace(microsecond=0)


def test_a_token_is_good_until_its_expiry_second_and_no_longer() -> None:
    token = stream_token(SECRET, "1000", "7")

    assert verify_stream_path(SECRET, token, "1000", "7", now=999.0)
    assert verify_stream_path(SECRET, token, "1000", "7", now=1000.9)
    assert not verify_stream_path(SECRET, token, "1000", "7", now=1001.0)


@pytest.mark.parametrize(
    ("expires", "asset_id"),
    [
        ("1001", "7"),  # a later expiry
        ("1000", "8"),  # another asset
        ("100", "07"),  # the digits moved across the separator
        ("01000", "7"),
        ("1000", "07"),
        ("1000", "9" * 20),
        ("-1000", "7"),
        ("1000", ""),
    ],
)
def test_a_token_signs_only_its_own_expiry_and_asset(expires: str, asset_id: str) -> None:
    token = stream_token(SECRET, "1000", "7")
    assert not verify_stream_path(SECRET, token, expires, asset_id, now=0)


def test_without_the_separator_two_paths_would_share_a_token() -> None:
    """Why "/" sits between the numbers: "1700000000" + "12" and "17000000001" + "2" are the
    same characters, and the second expires in the year 2508."""
    assert stream_token(SECRET, "1700000000", "12") != stream_token(SECRET, "17000000001", "2")


@pytest.mark.parametrize(
    "token",
    ["", "short", "xVXuUu4fdz9C7h3woPjHK", "xVXuUu4fdz9C7h3woPjHKg=", "xVXuUu4fdz9C7h3woPjHK+"],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    assert not verify_stream_path(SECRET, token, "1700000000", "42", now=0)


def test_another_secret_signs_nothing() -> None:
    token = stream_token("another secret", "1000", "7")
    assert not verify_stream_path(SECRET, token, "1000", "7", now=0)


def test_the_stream_secret_is_derived_for_streams_only() -> None:
    key = "the-kino-secret-key"
    secret = derive_stream_secret(key)

    assert secret == derive_stream_secret(key)
    assert secret != derive_stream_secret("another key")
    assert key not in secret
    assert len(secret) == 43
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
