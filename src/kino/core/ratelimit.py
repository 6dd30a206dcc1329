"""The ``RateLimiter`` port: how many events one key may have in a moving window.

Counted in process (embedded) or in Redis (distributed, so every API process shares the count),
with the ``limits`` library's async strategies. Callers say what they count (a ``Rate``) and for
whom (a key); the port answers how long to wait.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from kino.core.errors import RateLimited
from kino.settings import Settings

KEY_PREFIX = "kino-ratelimit"


@dataclass(frozen=True)
class Rate:
    """At most ``amount`` events per ``window_seconds`` for each key, counted under ``name``."""

    name: str
    amount: int
    window_seconds: int


class RateLimiter(Protocol):
    async def retry_after(self, rate: Rate, key: str) -> int:
        """Seconds until ``key`` may have one more event under ``rate``; 0 when it may now."""
        ...

    async def hit(self, rate: Rate, key: str) -> None:
        """Count one event for ``key`` (none once the window is full)."""
        ...

    async def reset(self, rate: Rate, key: str) -> None:
        """Forget ``key``'s events under ``rate``."""
        ...

    async def close(self) -> None: ...


async def ensure_allowed(limiter: RateLimiter, rate: Rate, key: str, *, message: str) -> None:
    """Raise ``RateLimited`` (429 with Retry-After) when ``key`` has used up ``rate``."""
    wait = await limiter.retry_after(rate, key)
    if wait > 0:
        raise RateLimited(message, retry_after=wait)


class LimitsRateLimiter:
    """The port over ``limits.aio``: a moving window, so a burst cannot straddle two windows."""

    def __init__(self, storage: Storage, *, pool: ConnectionPool | None = None) -> None:
        self._strategy = MovingWindowRateLimiter(storage)
        self._pool = pool

    async def retry_after(self, rate: Rate, key: str) -> int:
        item = _item(rate)
        if await self._strategy.test(item, rate.name, key):
            return 0
        stats = await self._strategy.get_window_stats(item, rate.name, key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def hit(self, rate: Rate, key: str) -> None:
        await self._strategy.hit(_item(rate), rate.name, key)

    async def reset(self, rate: Rate, key: str) -> None:
        await self._strategy.clear(_item(rate), rate.name, key)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


def _item(rate: Rate) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(rate.amount, rate.window_seconds, namespace=KEY_PREFIX)


def create_rate_limiter(settings: Settings) -> RateLimiter:
    """In-process counts, or Redis ones when ``KINO_REDIS_URL`` is set."""
    if settings.redis_url is None:
        return LimitsRateLimiter(MemoryStorage())
    # Our own pool: closing the app closes its connections, and any URL redis-py reads
    # (redis://, rediss://, unix://) works; the storage's own URL then only picks the client.
    pool = ConnectionPool.from_url(settings.redis_url)
    storage = RedisStorage(
        "async+redis://",
        implementation="redispy",
        key_prefix=KEY_PREFIX,
        connection_pool=pool,  # type: ignore[arg-type]  # limits types its options as scalars
    )
    return LimitsRateLimiter(storage, pool=pool)


async def _rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


AppRateLimiter = Annotated[RateLimiter, Depends(_rate_limiter)]
