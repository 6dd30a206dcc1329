"""Which changes start a new generation of the catalog response cache: staff edits do, a viewer's
own writes (playback starts, likes, ratings, reviews, comments, anything under /me) do not. A
stale answer is served at once and answered anew behind it; a path being answered is answered
once for all the requests that ask for it meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

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


class CountingApp:
    """Answers ``{"answer": n}``, n counting its answers; ``gate`` holds answers back, and
    ``failing`` makes it raise instead."""

    def __init__(self) -> None:
        self.answers = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.failing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.gate.wait()
        if self.failing:
            raise RuntimeError("the database went away")
        self.answers += 1
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": json.dumps({"answer": self.answers}).encode()}
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class RecordingCache(MemoryCache):
    def __init__(self) -> None:
        super().__init__()
        self.lifetimes: list[int] = []

    async def set(self, key: str, value: bytes, *, ttl_seconds: int) -> None:
        self.lifetimes.append(ttl_seconds)
        await super().set(key, value, ttl_seconds=ttl_seconds)


def cached(app: CountingApp, cache: MemoryCache, clock: Clock) -> ResponseCacheMiddleware:
    return ResponseCacheMiddleware(
        app, cache=cache, prefixes=PUBLIC_CATALOG_PREFIXES, ttl_seconds=10, clock=clock
    )


@contextlib.asynccontextmanager
async def client_of(middleware: ResponseCacheMiddleware) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as client:
        yield client


async def answer(client: httpx.AsyncClient) -> tuple[int, str]:
    response = await client.get("/api/v1/movies")
    assert response.status_code == 200
    return response.json()["answer"], response.headers["x-cache"]


async def refreshed(middleware: ResponseCacheMiddleware) -> None:
    await asyncio.gather(*middleware._refreshing.values())


async def test_a_stale_answer_is_served_at_once_and_answered_anew_behind_it() -> None:
    app, cache, clock = CountingApp(), RecordingCache(), Clock()
    middleware = cached(app, cache, clock)
    async with client_of(middleware) as client:
        assert await answer(client) == (1, "miss")
        clock.now += 9.9
        assert await answer(client) == (1, "hit")
        await refreshed(middleware)
        assert app.answers == 1  # still fresh: nothing answered anew
        clock.now += 0.2
        assert await answer(client) == (1, "hit")  # stale, and served without waiting
        await refreshed(middleware)
        assert app.answers == 2
        assert await answer(client) == (2, "hit")
    # Kept stale as long again as it is fresh.
    assert cache.lifetimes == [20, 20]


async def test_a_stale_answer_is_answered_anew_once_while_requests_keep_coming() -> None:
    app, clock = CountingApp(), Clock()
    middleware = cached(app, MemoryCache(), clock)
    async with client_of(middleware) as client:
        await answer(client)
        clock.now += 11
        app.gate.clear()
        stale = [await answer(client) for _ in range(5)]
        assert stale == [(1, "hit")] * 5
        app.gate.set()
        await refreshed(middleware)
        assert app.answers == 2
        assert await answer(client) == (2, "hit")


async def test_a_failed_refresh_keeps_the_stale_answer_and_is_tried_again() -> None:
    app, clock = CountingApp(), Clock()
    middleware = cached(app, MemoryCache(), clock)
    async with client_of(middleware) as client:
        await answer(client)
        clock.now += 11
        app.failing = True
        assert await answer(client) == (1, "hit")
        await refreshed(middleware)
        app.failing = False
        assert await answer(client) == (1, "hit")
        await refreshed(middleware)
        assert await answer(client) == (2, "hit")


async def test_requests_for_a_path_being_answered_wait_for_that_answer() -> None:
    app = CountingApp()
    middleware = cached(app, MemoryCache(), Clock())
    async with client_of(middleware) as client:
        app.gate.clear()
        asking = [asyncio.create_task(answer(client)) for _ in range(6)]
        while not middleware._answering:
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        app.gate.set()
        answers = await asyncio.gather(*asking)
    assert app.answers == 1
    assert sorted(answers) == [(1, "hit")] * 5 + [(1, "miss")]


async def test_when_the_answer_waited_for_cannot_be_stored_each_request_is_answered() -> None:
    app = CountingApp()
    middleware = cached(app, MemoryCache(), Clock())
    async with client_of(middleware) as client:
        app.gate.clear()
        app.failing = True
        asking = [asyncio.create_task(client.get("/api/v1/movies")) for _ in range(3)]
        while not middleware._answering:
            await asyncio.sleep(0)
        app.gate.set()
        outcomes = await asyncio.gather(*asking, return_exceptions=True)
    # Each request ran the app itself (and met its error), none waited for ever.
    assert [type(outcome) for outcome in outcomes] == [RuntimeError] * 3
