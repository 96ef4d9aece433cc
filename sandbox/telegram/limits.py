"""Flood control: the limits Telegram documents for bots, as token buckets.

* the whole bot: about 30 messages per second;
* one private chat: about 1 message per second, with a short burst tolerated;
* one group or supergroup (negative chat id): 20 messages per minute.

A refused request consumes nothing and gets a 429 whose ``retry_after`` is the whole
number of seconds (≥ 1) after which the fullest bucket has a token again.
Edits (``editMessageText``/``Caption``/``ReplyMarkup``) draw from the global bucket only
(``count_edits``); deletions, chat actions and callback answers are free.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from .errors import too_many_requests


@dataclass(frozen=True)
class RateLimits:
    enabled: bool = True
    global_rate: float = 30.0  # tokens per second for the whole bot
    global_burst: int = 30
    private_rate: float = 1.0  # per private chat
    private_burst: int = 3
    group_rate: float = 20 / 60  # per group or supergroup
    group_burst: int = 20
    count_edits: bool = True  # edits take a token from the global bucket

    @classmethod
    def off(cls) -> RateLimits:
        return cls(enabled=False)


class TokenBucket:
    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = float(max(capacity, 1))
        self.tokens = self.capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if one is available now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


class RateLimiter:
    """Checks and records; ``too_many_requests`` counts refusals per chat id."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._global = TokenBucket(limits.global_rate, limits.global_burst, clock())
        self._chats: dict[int, TokenBucket] = {}
        self.too_many_requests: Counter[int] = Counter()

    def _chat_bucket(self, chat_id: int, now: float) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if chat_id > 0:
                bucket = TokenBucket(self.limits.private_rate, self.limits.private_burst, now)
            else:
                bucket = TokenBucket(self.limits.group_rate, self.limits.group_burst, now)
            self._chats[chat_id] = bucket
        return bucket

    def acquire(self, chat_id: int, *, edit: bool = False) -> None:
        """Take the tokens a message to ``chat_id`` needs, or raise a 429 ``ApiError``."""
        if not self.limits.enabled or (edit and not self.limits.count_edits):
            return
        now = self.clock()
        buckets = [self._global] if edit else [self._global, self._chat_bucket(chat_id, now)]
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            self.too_many_requests[chat_id] += 1
            raise too_many_requests(max(1, math.ceil(wait)))
        for bucket in buckets:
            bucket.take(now)
