"""Token buckets that callers wait on: in this process, or shared by every replica through Redis.

One process keeps its buckets in memory. Several replicas sending with one Telegram token (or
calling one Bitrix24 portal) must draw from one bucket, or two replicas send twice the rate and
run into the other side's limit; so with ``VIZA_REDIS_URL`` the bucket lives in Redis and a Lua
script refills and takes atomically, on Redis's clock (the replicas' clocks may disagree).

A leaky bucket (Bitrix24's: a level that rises by one per hit and drains at a rate) is the same
thing seen from the other side: the tokens are the room left.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from redis.asyncio import Redis


class TokenBucket(Protocol):
    async def take(self) -> None:
        """Wait for a token and take it."""

    async def wait_time(self) -> float:
        """Seconds until a token is there, taking nothing."""

    async def empty(self) -> None:
        """The other side refused a call: whatever we counted, there is no room now."""

    async def pause(self, seconds: float) -> None:
        """Hold every taker back for ``seconds`` (a 429's retry_after: the whole bot is blocked)."""


class LocalBucket:
    """A bucket in this process; takers are served first come, first served."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()
        self.paused_until = 0.0
        self.lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def _wait(self, now: float) -> float:
        if self.paused_until > now:
            return self.paused_until - now
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    async def take(self) -> None:
        async with self.lock:
            while (wait := self._wait(time.monotonic())) > 0:
                await asyncio.sleep(wait)
            self.tokens -= 1

    async def wait_time(self) -> float:
        return self._wait(time.monotonic())

    async def empty(self) -> None:
        self._refill(time.monotonic())
        self.tokens = min(self.tokens, 0.0)

    async def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def idle(self) -> bool:
        """Full and nobody waiting: the bucket can be forgotten and made again the same."""
        self._refill(time.monotonic())
        return self.tokens >= self.capacity and not self.lock.locked()


# KEYS[1]: the bucket (a hash of tokens and when they were counted); KEYS[2]: the pause marker.
# ARGV: rate per second, capacity, mode (take / peek / empty / pause), the pause in ms. Returns the seconds to wait as a
# string (a Lua number would come back truncated to an integer); "0" when a token was taken.
_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local mode = ARGV[3]
local paused = redis.call('PTTL', KEYS[2])
if mode == 'pause' then  -- only ever lengthen a pause another replica set
  if paused < tonumber(ARGV[4]) then redis.call('SET', KEYS[2], '1', 'PX', ARGV[4]) end
  return '0'
end
if paused > 0 and mode ~= 'empty' then
  return tostring(paused / 1000)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or capacity
local at = tonumber(saved[2]) or now
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
end
local wait = 0
if mode == 'empty' then
  tokens = math.min(tokens, 0)
elseif tokens >= 1 then
  if mode == 'take' then tokens = tokens - 1 end
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity / rate + 60) * 1000))
return tostring(wait)
"""


class RedisBucket:
    """A bucket every replica draws from. Takers in this process still queue among themselves
    (first come, first served here); across replicas whoever asks when a token is there gets it."""

    def __init__(self, redis: Redis, key: str, rate: float, burst: float) -> None:
        self.redis = redis
        self.key = key
        self.pause_key = key + ":paused"
        self.rate = rate
        self.capacity = float(burst)
        self.lock = asyncio.Lock()
        self._script = redis.register_script(_SCRIPT)

    async def _run(self, mode: str, pause_ms: int = 0) -> float:
        answer = await self._script(keys=[self.key, self.pause_key], args=[self.rate, self.capacity, mode, pause_ms])
        return float(answer)

    async def take(self) -> None:
        async with self.lock:
            while (wait := await self._run("take")) > 0:
                await asyncio.sleep(wait)

    async def wait_time(self) -> float:
        return await self._run("peek")

    async def empty(self) -> None:
        await self._run("empty")

    async def pause(self, seconds: float) -> None:
        await self._run("pause", max(1, int(seconds * 1000)))

    def idle(self) -> bool:
        return not self.lock.locked()
