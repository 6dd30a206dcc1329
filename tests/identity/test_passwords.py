from __future__ import annotations

import pytest

from kino.identity.passwords import (
    hash_password,
    password_weakness,
    verify_and_update,
    verify_password,
)


@pytest.fixture
def cheap_argon2() -> None:
    """These tests check the real hashing parameters."""


def test_passwords_are_hashed_with_argon2id() -> None:
    password_hash = hash_password("correct-horse-42")
    assert password_hash.startswith("$argon2id$")
    assert "correct-horse-42" not in password_hash
    assert verify_password("correct-horse-42", password_hash)
    assert not verify_password("correct-horse-43", password_hash)


def test_same_password_hashes_differently_each_time() -> None:
    assert hash_password("correct-horse-42") != hash_password("correct-horse-42")


def test_unknown_account_never_verifies() -> None:
    assert not verify_password("correct-horse-42", None)


def test_hash_with_older_parameters_is_renewed_on_verify() -> None:
    from pwdlib.hashers.argon2 import Argon2Hasher

    weak = Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1).hash("correct-horse-42")
    valid, renewed = verify_and_update("correct-horse-42", weak)
    assert valid
    assert renewed is not None
    assert renewed != weak
    assert verify_password("correct-horse-42", renewed)


@pytest.mark.parametrize(
    ("password", "acceptable"),
    [
        ("short-1", False),
        ("abcdefghijkl", False),
        ("ABCDEFGHIJKL", False),
        ("123456789012", False),
        ("!!!!!!!!!!!!", False),
        ("abcdefghij1", True),
        ("correct horse battery", True),  # letters and spaces mix two kinds
        ("Abcdefghijk", True),
        ("x" * 257 + "1", False),
    ],
)
def test_password_policy(password: str, acceptable: bool) -> None:
    assert (password_weakness(password) is None) is acceptable
