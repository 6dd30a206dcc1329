"""Which changes start a new generation of the catalog response cache: staff edits do, a viewer's
own writes (playback starts, likes, ratings, reviews, comments, anything under /me) do not."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from kino.app import PER_VIEWER_WRITES, PUBLIC_CATALOG_PREFIXES, STAFF_CATALOG_PREFIXES
from kino.core.cache import MemoryCache
from kino.core.response_cache import GENERATION_KEY, ResponseCacheMiddleware


async def _always_ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _generation_after(method: str, path: str) -> int:
    cache = MemoryCache()
    middleware = ResponseCacheMiddleware(
        _always_ok,
        cache=cache,
        prefixes=PUBLIC_CATALOG_PREFIXES,
        ttl_seconds=60,
        per_viewer_writes=PER_VIEWER_WRITES,
        changed_by=STAFF_CATALOG_PREFIXES,
    )
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as client:
        response = await client.request(method, path)
        assert response.status_code == 200
    return await cache.counter(GENERATION_KEY)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/movies/5/playback"),
        ("POST", "/api/v1/movies/5/like"),
        ("DELETE", "/api/v1/movies/5/like"),
        ("PUT", "/api/v1/movies/5/rating"),
        ("DELETE", "/api/v1/movies/5/rating"),
        ("POST", "/api/v1/movies/5/reviews"),
        ("PATCH", "/api/v1/movies/5/reviews/9"),
        ("POST", "/api/v1/movies/5/reviews/9/votes"),
        ("POST", "/api/v1/movies/5/comments"),
        ("DELETE", "/api/v1/movies/5/comments/3"),
        ("PUT", "/api/v1/me/progress/5"),
        ("DELETE", "/api/v1/me/history"),
    ],
)
async def test_a_viewers_own_writes_keep_the_cache(method: str, path: str) -> None:
    assert await _generation_after(method, path) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/movies"),
        ("PATCH", "/api/v1/movies/5"),
        ("DELETE", "/api/v1/movies/5"),
        ("POST", "/api/v1/movies/5/video"),
        ("POST", "/api/v1/movies/5/subtitles"),
        ("DELETE", "/api/v1/movies/5/subtitles/en"),
        ("POST", "/api/v1/people"),
        ("PATCH", "/api/v1/people/2"),
        ("POST", "/api/v1/genres"),
        # Near misses of the per-viewer patterns are still catalog changes.
        ("POST", "/api/v1/movies/5/playbacks"),
        ("POST", "/api/v1/movies/5/video/playback"),
        ("PATCH", "/api/v1/movies/playback"),
        # The staff pages edit the catalog by form posts.
        ("POST", "/admin/movies/new"),
        ("POST", "/admin/movies/5/credits"),
        ("POST", "/admin/people/2/delete"),
    ],
)
async def test_catalog_edits_start_a_new_generation(method: str, path: str) -> None:
    assert await _generation_after(method, path) == 1


async def test_without_per_viewer_patterns_every_write_invalidates() -> None:
    cache = MemoryCache()
    middleware = ResponseCacheMiddleware(
        _always_ok, cache=cache, prefixes=PUBLIC_CATALOG_PREFIXES, ttl_seconds=60
    )
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as client:
        await client.post("/api/v1/movies/5/playback")
    assert await cache.counter(GENERATION_KEY) == 1


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/admin/users/7/role"), ("GET", "/admin/movies")]
)
async def test_other_staff_pages_keep_the_cache(method: str, path: str) -> None:
    assert await _generation_after(method, path) == 0
