"""The ``Cache`` port: short-lived bytes by key, in process (embedded) or in Redis (distributed)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis

from kino.settings import Settings

KEY_PREFIX = "kino-cache:"


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl_seconds: int) -> None: ...

    async def counter(self, key: str) -> int:
        """The current value of a counter (0 when never bumped)."""
        ...

    async def bump(self, key: str) -> int:
        """Add one to a counter and return the new value."""
        ...

    async def close(self) -> None: ...


class MemoryCache:
    """A bounded LRU with expiry, private to this process."""

    def __init__(self, *, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._counters: dict[str, int] = {}
        self._max_entries = max_entries

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, *, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def counter(self, key: str) -> int:
        return self._counters.get(key, 0)

    async def bump(self, key: str) -> int:
        self._counters[key] = self._counters.get(key, 0) + 1
        return self._counters[key]

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    """Shared by every API process: one process's change is seen by all at once."""

    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=False)

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(KEY_PREFIX + key)
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, *, ttl_seconds: int) -> None:
        await self._redis.set(KEY_PREFIX + key, value, ex=ttl_seconds)

    async def counter(self, key: str) -> int:
        value = await self._redis.get(KEY_PREFIX + key)
        return int(value or 0)

    async def bump(self, key: str) -> int:
        return int(await self._redis.incr(KEY_PREFIX + key))

    async def close(self) -> None:
        await self._redis.aclose()


def create_cache(settings: Settings) -> Cache:
    if settings.redis_url:
        return RedisCache(settings.redis_url)
    return MemoryCache()
