"""``kino users create`` (src/kino/cli.py), then signing in with that account over the API."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from kino.settings import Settings
from tests.identity.signin import bearer, login

KINO = Path(sys.executable).parent / "kino"


async def _kino(settings: Settings, *arguments: str) -> tuple[int, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("KINO_")}
    environment |= {
        "KINO_DATA_DIR": str(settings.data_dir),
        "KINO_DATABASE_URL": settings.sqlalchemy_url,
        "KINO_ENVIRONMENT": "test",
    }
    process = await asyncio.create_subprocess_exec(
        str(KINO),
        *arguments,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_created_account_signs_in_over_the_api(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    code, output = await _kino(
        settings,
        "users",
        "create",
        "--email",
        "Boss@Kino.local",
        "--password",
        "run-the-cinema-7",
        "--role",
        "admin",
    )
    assert code == 0, output
    assert "Created admin" in output

    tokens = await login(client, "boss@kino.local", "run-the-cinema-7")
    me = (await client.get("/api/v1/auth/me", headers=bearer(tokens))).json()
    assert (me["email"], me["role"]) == ("boss@kino.local", "admin")
    users = await client.get("/api/v1/users", headers=bearer(tokens))
    assert users.status_code == 200


async def test_weak_password_is_refused_by_the_command(settings: Settings) -> None:
    code, output = await _kino(
        settings, "users", "create", "--email", "a@example.com", "--password", "short"
    )
    assert code == 1
    assert "at least 10 characters" in output
