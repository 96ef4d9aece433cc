"""Keeping to the portal's leaky bucket (FACTS §4): every REST hit adds one to a bucket of 50
that drains at 2 per second; a hit that would overflow it is refused with
``QUERY_LIMIT_EXCEEDED``. The bucket is the portal's, shared by every app on it, so this copy
is an estimate: a refusal means somebody else is using it too, and the copy is topped up.

One limiter per process (``LeakyBucket``); several replicas share one through Redis
(``SharedLeakyBucket``), or together they would hit the portal twice as fast.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from redis.asyncio import Redis

from backend.rate_buckets import RedisBucket


class LeakyBucket:
    def __init__(self, capacity: int = 50, drain_per_second: float = 2.0, *,
                 clock: Callable[[], float] = time.monotonic, headroom: float = 1.0) -> None:
        # Headroom: hits are counted by the portal when they arrive, so a little is kept back for
        # network jitter reordering our requests.
        self.capacity = capacity
        self.limit = max(1.0, capacity - headroom)
        self.drain = drain_per_second
        self.clock = clock
        self._level = 0.0
        self._at = clock()
        self._lock = asyncio.Lock()
        self.waited = 0.0  # seconds spent waiting for room, for the benchmark and logs

    def level(self) -> float:
        now = self.clock()
        self._level = max(0.0, self._level - (now - self._at) * self.drain)
        self._at = now
        return self._level

    async def acquire(self) -> None:
        """Wait until one more hit fits, then count it. Callers queue in arrival order."""
        async with self._lock:
            while (level := self.level()) + 1 > self.limit:
                pause = (level + 1 - self.limit) / self.drain
                self.waited += pause
                await asyncio.sleep(pause)
            self._level = level + 1

    async def overflowed(self) -> None:
        """The portal refused a hit: its bucket is full, whatever our copy said."""
        self.level()
        self._level = float(self.capacity)


class SharedLeakyBucket:
    """The same estimate kept in Redis for every replica: the room left is a token bucket of
    ``capacity - headroom`` tokens refilled at the drain rate."""

    def __init__(self, redis: Redis, key: str, capacity: int = 50, drain_per_second: float = 2.0, *,
                 headroom: float = 1.0) -> None:
        self.bucket = RedisBucket(redis, key, drain_per_second, max(1.0, capacity - headroom))
        self.waited = 0.0

    async def acquire(self) -> None:
        started = time.monotonic()
        await self.bucket.take()
        self.waited += time.monotonic() - started

    async def overflowed(self) -> None:
        await self.bucket.empty()
