from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from kino.core.errors import RateLimited
from kino.core.ratelimit import Rate, RateLimiter, create_rate_limiter, ensure_allowed
from kino.settings import Settings

THREE_A_MINUTE = Rate("test-three", amount=3, window_seconds=60)


@pytest.fixture
async def limiter(settings: Settings) -> AsyncIterator[RateLimiter]:
    """In-process counts in embedded mode, Redis counts in distributed mode."""
    rate_limiter = create_rate_limiter(settings)
    yield rate_limiter
    await rate_limiter.close()


async def test_key_is_allowed_until_its_window_is_full(limiter: RateLimiter) -> None:
    for _ in range(3):
        assert await limiter.retry_after(THREE_A_MINUTE, "alice") == 0
        await limiter.hit(THREE_A_MINUTE, "alice")
    wait = await limiter.retry_after(THREE_A_MINUTE, "alice")
    assert 0 < wait <= 60


async def test_keys_and_rates_are_counted_apart(limiter: RateLimiter) -> None:
    other_rate = Rate("test-other", amount=3, window_seconds=60)
    for _ in range(3):
        await limiter.hit(THREE_A_MINUTE, "alice")
    assert await limiter.retry_after(THREE_A_MINUTE, "bob") == 0
    assert await limiter.retry_after(other_rate, "alice") == 0


async def test_reset_forgets_the_keys_events(limiter: RateLimiter) -> None:
    for _ in range(3):
        await limiter.hit(THREE_A_MINUTE, "alice")
    await limiter.reset(THREE_A_MINUTE, "alice")
    assert await limiter.retry_after(THREE_A_MINUTE, "alice") == 0


async def test_events_leave_the_window_when_it_moves_on(limiter: RateLimiter) -> None:
    one_a_second = Rate("test-fast", amount=1, window_seconds=1)
    await limiter.hit(one_a_second, "alice")
    assert await limiter.retry_after(one_a_second, "alice") == 1
    await asyncio.sleep(1.05)
    assert await limiter.retry_after(one_a_second, "alice") == 0


async def test_ensure_allowed_raises_rate_limited_with_retry_after(limiter: RateLimiter) -> None:
    await ensure_allowed(limiter, THREE_A_MINUTE, "alice", message="Slow down.")
    for _ in range(3):
        await limiter.hit(THREE_A_MINUTE, "alice")
    with pytest.raises(RateLimited) as raised:
        await ensure_allowed(limiter, THREE_A_MINUTE, "alice", message="Slow down.")
    assert raised.value.status == 429
    assert raised.value.headers is not None
    assert 0 < int(raised.value.headers["Retry-After"]) <= 60
