"""A read-through cache for public GET responses (the catalog a signed-out visitor browses).

Only requests without credentials are served from it, and only 200 JSON answers are stored, for
``ttl_seconds``. Any successful change (POST, PUT, PATCH, DELETE) under a cached prefix moves the
prefix group to a new generation, so later reads miss at once; the change is committed before
its response leaves the app, so nothing older can be stored under the new generation. In
embedded mode with several worker processes, another process's change is seen within twice the
TTL (the stale time below).

Changes that belong to one viewer (a playback start, a like, a rating) happen far more often
than catalog edits; paths matching ``per_viewer_writes`` (regular expressions matched against
the whole path) keep the generation, or every play would empty the cache. What they touch in
public answers (a count, an average) is then at most twice ``ttl_seconds`` old.

Paths under ``changed_by`` (the staff pages, which edit the catalog through the same services)
are never cached, but their successful changes start a new generation too.

An answer is fresh for ``ttl_seconds`` and then kept as long again, stale: a request for a stale
answer gets it at once while one task of this process answers the path anew for the requests
after it. Without that, a popular page expired for everyone at the same moment, and every request
in flight for it went to the database together (at 200,000 films and 32 connections, the p99 of
a cached list was 560 ms, the expiries' stampedes). For the same reason, requests for a path
this process is answering already wait for that answer instead of answering it again.
"""

from __future__ import annotations

import asyncio
import re
import struct
import time
from collections.abc import Callable, Sequence

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kino.core.cache import Cache

GENERATION_KEY = "response-cache-generation"
CREDENTIAL_HEADERS = (b"authorization", b"x-api-key", b"cookie")
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_CACHED_BYTES = 512 * 1024
FRESH_UNTIL = struct.Struct(">d")  # a stored answer starts with the time it turns stale

log = structlog.get_logger("kino.cache")


class ResponseCacheMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        cache: Cache,
        prefixes: Sequence[str],
        ttl_seconds: int,
        per_viewer_writes: Sequence[str] = (),
        changed_by: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.cache = cache
        self.prefixes = tuple(prefixes)
        self.changed_by = tuple(changed_by)
        self.ttl_seconds = ttl_seconds
        self.per_viewer_writes = re.compile(
            "|".join(f"(?:{p})" for p in per_viewer_writes) or "(?!)"
        )
        self.clock = clock  # wall time: processes sharing a cache compare it
        self._answering: dict[str, asyncio.Future[bytes | None]] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        # One refresh at a time: answers stored together turn stale together, and answering
        # them all at once would hold up the requests in flight.
        self._refresh_turn = asyncio.Semaphore(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.ttl_seconds <= 0:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method in CHANGING_METHODS and scope["path"].startswith(self.changed_by):
            await self._forward_and_invalidate(scope, receive, send)
            return
        if not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        if method in CHANGING_METHODS and self.per_viewer_writes.fullmatch(scope["path"]):
            await self.app(scope, receive, send)
        elif method in CHANGING_METHODS:
            await self._forward_and_invalidate(scope, receive, send)
        elif method == "GET" and not _has_credentials(scope):
            await self._serve_cached(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _serve_cached(self, scope: Scope, receive: Receive, send: Send) -> None:
        generation = await self.cache.counter(GENERATION_KEY)
        key = f"{generation}:{scope['path']}?{scope['query_string'].decode('latin-1')}"
        stored = await self.cache.get(key)
        if stored is not None:
            [fresh_until] = FRESH_UNTIL.unpack_from(stored)
            await _send_cached(send, memoryview(stored)[FRESH_UNTIL.size :].tobytes())
            if fresh_until <= self.clock() and key not in self._refreshing:
                self._refresh(key, scope)
            return
        answering = self._answering.get(key)
        if answering is not None:
            body = await asyncio.shield(answering)
            if body is not None:
                await _send_cached(send, body)
                return
        await self._answer(key, scope, receive, send)

    async def _answer(self, key: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Answers a missed path and stores the answer; requests for it meanwhile wait for it."""
        answered = asyncio.get_running_loop().create_future()
        self._answering.setdefault(key, answered)
        body: bytes | None = None
        try:
            body = await self._run(scope, receive, send)
            if body is not None:
                await self._store(key, body)
        finally:
            answered.set_result(body)
            if self._answering.get(key) is answered:
                del self._answering[key]

    def _refresh(self, key: str, scope: Scope) -> None:
        """Answers a stale path anew in the background, as a request without a body would."""
        scope = {**scope, "state": dict(scope.get("state", {}))}
        task = asyncio.create_task(self._refreshed(key, scope))
        self._refreshing[key] = task
        task.add_done_callback(lambda _task: self._refreshing.pop(key, None))

    async def _refreshed(self, key: str, scope: Scope) -> None:
        asked = False

        async def receive() -> Message:
            nonlocal asked
            if asked:
                return {"type": "http.disconnect"}
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(_message: Message) -> None:
            return None

        try:
            async with self._refresh_turn:
                body = await self._run(scope, receive, discard)
            if body is not None:
                await self._store(key, body)
        except Exception:
            log.exception("cache.refresh.failed", path=scope["path"])

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """Runs the app, marking its answer a miss; returns the body when it may be stored."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                message["headers"] = [*message.get("headers", []), (b"x-cache", b"miss")]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if start is None or start["status"] != 200 or not _is_json(start):
            return None
        return body if len(body) <= MAX_CACHED_BYTES else None

    async def _store(self, key: str, body: bytes) -> None:
        fresh_until = FRESH_UNTIL.pack(self.clock() + self.ttl_seconds)
        await self.cache.set(key, fresh_until + body, ttl_seconds=2 * self.ttl_seconds)

    async def _forward_and_invalidate(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status < 400:
            await self.cache.bump(GENERATION_KEY)


def _has_credentials(scope: Scope) -> bool:
    return any(name in CREDENTIAL_HEADERS for name, _ in scope["headers"])


def _is_json(start: Message) -> bool:
    return any(
        name == b"content-type" and value.startswith(b"application/json")
        for name, value in start.get("headers", [])
    )


async def _send_cached(send: Send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-cache", b"hit"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
