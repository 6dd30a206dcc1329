"""Argon2 password hashing and the password policy."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the account does not exist, so a login for an unknown e-mail costs
# the same time as one for a known e-mail with a wrong password.
_DUMMY_HASH = _hasher.hash("kino-dummy-password-for-constant-time")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, password_hash)


def verify_and_update(password: str, password_hash: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches, and a fresh hash when the stored one used weaker settings."""
    return _hasher.verify_and_update(password, password_hash)


def password_weakness(password: str) -> str | None:
    """Why ``password`` is too weak, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must have at most {MAX_PASSWORD_LENGTH} characters."
    classes = {
        "lower"
        if ch.islower()
        else "upper"
        if ch.isupper()
        else "digit"
        if ch.isdigit()
        else "other"
        for ch in password
    }
    if len(classes) < 2:
        return "The password must mix at least two kinds of characters (letters, digits, symbols)."
    return None
