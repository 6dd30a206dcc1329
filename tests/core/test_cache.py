from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from kino.app import create_app, dispose
from kino.core.cache import Cache, MemoryCache, create_cache
from kino.identity.models import Role
from kino.settings import Settings
from tests.factories import make_user


@pytest.fixture
async def cache(settings: Settings) -> AsyncIterator[Cache]:
    """The cache of the mode under test: in process (embedded) or Redis (distributed)."""
    port = create_cache(settings)
    yield port
    await port.close()


async def test_cache_returns_what_was_stored(cache: Cache) -> None:
    assert await cache.get("film") is None
    await cache.set("film", b'{"title": "Heat"}', ttl_seconds=60)
    assert await cache.get("film") == b'{"title": "Heat"}'


async def test_memory_cache_entries_expire() -> None:
    cache = MemoryCache()
    await cache.set("film", b"short-lived", ttl_seconds=0)
    assert await cache.get("film") is None


async def test_counters_start_at_zero_and_count_up(cache: Cache) -> None:
    assert await cache.counter("generation") == 0
    assert await cache.bump("generation") == 1
    assert await cache.bump("generation") == 2
    assert await cache.counter("generation") == 2


async def test_memory_cache_forgets_the_least_recently_used_entry() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.set("a", b"1", ttl_seconds=60)
    await cache.set("b", b"2", ttl_seconds=60)
    await cache.get("a")
    await cache.set("c", b"3", ttl_seconds=60)
    assert [await cache.get(key) for key in "abc"] == [b"1", None, b"3"]


async def test_signed_out_reads_are_served_from_the_cache_until_a_change(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    manager = await make_user(app, role=Role.MANAGER)
    await client.post("/api/v1/movies", json={"title": "Heat", "status": "published"},
                      headers=manager.headers)  # fmt: skip
    first = await client.get("/api/v1/movies")
    second = await client.get("/api/v1/movies")
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert second.json() == first.json()
    await client.post("/api/v1/movies", json={"title": "Ronin", "status": "published"},
                      headers=manager.headers)  # fmt: skip
    after_change = await client.get("/api/v1/movies")
    assert after_change.headers["x-cache"] == "miss"
    assert after_change.json()["total"] == 2


async def test_signed_in_reads_and_errors_are_never_cached(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    viewer = await make_user(app)
    for _ in range(2):
        signed_in = await client.get("/api/v1/movies", headers=viewer.headers)
        assert "x-cache" not in signed_in.headers
        missing = await client.get("/api/v1/movies/12345")
        assert (missing.status_code, missing.headers["x-cache"]) == (404, "miss")


async def test_a_zero_ttl_turns_the_cache_off(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"cache_ttl_seconds": 0}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as client:
        for _ in range(2):
            assert "x-cache" not in (await client.get("/api/v1/genres")).headers
    await dispose(app)
