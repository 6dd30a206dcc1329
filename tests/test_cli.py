"""The ``kino`` command (src/kino/cli.py), run as a newcomer runs it: a subprocess with KINO_*
settings in its environment."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from kino.catalog.models import Movie
from kino.catalog.sample import SAMPLE_FILMS
from kino.core.db import Database
from kino.settings import Settings

KINO = Path(sys.executable).parent / "kino"


def kino_environment(**settings: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("KINO_")}
    return (
        environment
        | {"KINO_ENVIRONMENT": "test"}
        | {f"KINO_{name.upper()}": value for name, value in settings.items()}
    )


def environment_for(settings: Settings) -> dict[str, str]:
    return kino_environment(data_dir=str(settings.data_dir), database_url=settings.sqlalchemy_url)


async def kino(environment: Mapping[str, str], *arguments: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(KINO),
        *arguments,
        env=dict(environment),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def count_movies(app: FastAPI) -> int:
    async with app.state.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Movie)) or 0)


async def test_seed_titles_makes_a_synthetic_catalog_once(settings: Settings, app: FastAPI) -> None:
    code, output = await kino(environment_for(settings), "seed", "--titles", "50")

    assert code == 0, output
    assert "Added 50 films" in output
    assert await count_movies(app) == 50

    code, output = await kino(environment_for(settings), "seed", "--titles", "50")

    assert code == 0, output
    assert "Added 0 films" in output
    assert await count_movies(app) == 50


async def test_seed_without_a_choice_says_what_to_choose(settings: Settings) -> None:
    code, output = await kino(environment_for(settings), "seed")

    assert code == 2
    assert "--sample" in output
    assert "--titles" in output


async def test_seed_asks_for_a_migrated_database(tmp_path: Path) -> None:
    code, output = await kino(
        kino_environment(data_dir=str(tmp_path / "fresh")), "seed", "--sample"
    )

    assert code == 2
    assert "kino db upgrade" in output


async def check_whole_demo_catalog(settings: Settings) -> None:
    db = Database(settings.sqlalchemy_url)
    try:
        async with db.transaction() as session:
            total = await session.scalar(select(func.count()).select_from(Movie))
            assert total == SAMPLE_FILMS
            # Two films share an IMDb id in the source: both arrive, the later one marked.
            apocalypse = select(Movie.title, Movie.external_id).where(
                Movie.title.startswith("Apocalypse Now")
            )
            assert dict((await session.execute(apocalypse)).all()) == {
                "Apocalypse Now": "tt0078788",
                "Apocalypse Now Redux": "tt0078788-3620669",
            }
            hamlets = (
                await session.scalars(select(Movie.slug).where(Movie.title == "Hamlet"))
            ).all()
            assert len(set(hamlets)) == len(hamlets) > 1
    finally:
        await db.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def run_demo(environment: Mapping[str, str], port: int) -> tuple[str, str, str]:
    """Start ``kino demo`` (without its sample videos: tests/test_demo.py makes them, small),
    wait for its URL line and a healthy server, stop it.
    Returns (everything printed, the URL, the password)."""
    process = await asyncio.create_subprocess_exec(
        str(KINO),
        "demo",
        "--no-videos",
        "--port",
        str(port),
        env=dict(environment),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    printed: list[str] = []
    try:
        async with asyncio.timeout(120):
            while not printed or "Kino is running at" not in printed[-1]:
                line = await process.stdout.readline()
                assert line, "kino demo ended early:\n" + "".join(printed)
                printed.append(line.decode())
            announced = re.search(r"running at (\S+)\s+—\s+sign in as (\S+) / (\S+)", printed[-1])
            assert announced is not None, printed[-1]
            url, email, password = announced.groups()
            assert email == "admin@kino.local"
            async with httpx.AsyncClient(base_url=url) as http:
                while True:
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
                signed_in = await http.post(
                    "/api/v1/auth/login", json={"email": email, "password": password}
                )
                assert signed_in.status_code == 200, signed_in.text
    finally:
        process.terminate()
        await process.wait()
    return "".join(printed), url, password


async def test_demo_serves_the_whole_catalog_and_prints_the_same_credentials_again(
    tmp_path: Path,
) -> None:
    """Runs once, not per backend: the demo is the embedded mode by definition."""
    environment = kino_environment(data_dir=str(tmp_path / "var"))
    port = free_port()

    printed, url, password = await run_demo(environment, port)

    assert url == f"http://127.0.0.1:{port}"
    assert f"Added {SAMPLE_FILMS:,} films, 63,815 people and 234,371 credits" in printed
    assert "KINO_SECRET_KEY" not in printed  # no production warning in a demo
    await check_whole_demo_catalog(Settings(data_dir=tmp_path / "var"))

    printed_again, _url, password_again = await run_demo(environment, port)

    assert "Added 0 films" in printed_again
    assert password_again == password
