"""A read-through cache for public GET responses (the catalog a signed-out visitor browses).

Only requests without credentials are served from it, and only 200 JSON answers are stored, for
``ttl_seconds``. Any successful change (POST, PUT, PATCH, DELETE) under a cached prefix moves the
prefix group to a new generation, so later reads miss at once; the change is committed before
its response leaves the app, so nothing older can be stored under the new generation. In
embedded mode with several worker processes, another process's change is seen within the TTL.

Changes that belong to one viewer (a playback start, a like, a rating) happen far more often
than catalog edits; paths matching ``per_viewer_writes`` (regular expressions matched against
the whole path) keep the generation, or every play would empty the cache. What they touch in
public answers (a count, an average) is then at most ``ttl_seconds`` old.

Paths under ``changed_by`` (the staff pages, which edit the catalog through the same services)
are never cached, but their successful changes start a new generation too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kino.core.cache import Cache

GENERATION_KEY = "response-cache-generation"
CREDENTIAL_HEADERS = (b"authorization", b"x-api-key", b"cookie")
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_CACHED_BYTES = 512 * 1024


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
    ) -> None:
        self.app = app
        self.cache = cache
        self.prefixes = tuple(prefixes)
        self.changed_by = tuple(changed_by)
        self.ttl_seconds = ttl_seconds
        self.per_viewer_writes = re.compile(
            "|".join(f"(?:{p})" for p in per_viewer_writes) or "(?!)"
        )

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
        cached = await self.cache.get(key)
        if cached is not None:
            await _send_cached(send, cached)
            return
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
        if start is not None and start["status"] == 200 and _is_json(start):
            if len(body) <= MAX_CACHED_BYTES:
                await self.cache.set(key, body, ttl_seconds=self.ttl_seconds)

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
