from __future__ import annotations

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from kino.identity import passwords

# Still Argon2id, with the smallest cost: these tests check rules, not the hash's strength
# (tests/identity/test_passwords.py and the CLI test use the real parameters).
_CHEAP_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_hasher", _CHEAP_HASHER)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", _CHEAP_HASHER.hash("dummy-password-1"))
