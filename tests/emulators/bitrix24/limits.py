"""The two limits of limits.md.

* Request rate: a leaky bucket of ``size`` requests draining ``rate`` per second,
  continuously. A request that would lift the level over ``size`` gets 503
  QUERY_LIMIT_EXCEEDED and adds nothing. ``batch`` is one request.
* Operating time: per method, the run time of the last 10 minutes is kept in one-minute
  baskets (each lives 10 minutes from its first call). A method whose sum exceeds the limit
  answers 429 OPERATION_TIME_LIMIT until enough baskets expire. The outer ``batch`` is not
  counted, its sub-commands are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

BASKET_SECONDS = 60.0
WINDOW_SECONDS = 600.0


class LeakyBucket:
    def __init__(self, size: int, rate: float, clock: Callable[[], float]) -> None:
        self.size = size
        self.rate = rate
        self.clock = clock
        self._level = 0.0
        self._updated = clock()
        self.max_level = 0.0

    def _drain(self) -> None:
        now = self.clock()
        if now > self._updated:
            self._level = max(0.0, self._level - (now - self._updated) * self.rate)
        self._updated = now

    @property
    def level(self) -> float:
        self._drain()
        return self._level

    def try_take(self) -> bool:
        self._drain()
        # a small epsilon: 48.000000001 + 1 must still fit in 50 after float drains
        if self._level + 1 > self.size + 1e-9:
            return False
        self._level += 1
        self.max_level = max(self.max_level, self._level)
        return True

    def reset(self) -> None:
        self._level = 0.0
        self._updated = self.clock()


@dataclass
class _Basket:
    started: float
    expires: float
    seconds: float


class OperatingMeter:
    def __init__(self, limit: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.clock = clock
        self._baskets: dict[str, list[_Basket]] = {}

    def _live(self, method: str) -> list[_Basket]:
        now = self.clock()
        baskets = [b for b in self._baskets.get(method, []) if b.expires > now]
        self._baskets[method] = baskets
        return baskets

    def add(self, method: str, seconds: float) -> None:
        now = self.clock()
        baskets = self._live(method)
        # block() baskets have no minute of their own; never add real time to them
        current = next(
            (b for b in reversed(baskets) if now - b.started < BASKET_SECONDS and b.expires == b.started + WINDOW_SECONDS),
            None,
        )
        if current is None:
            baskets.append(_Basket(now, now + WINDOW_SECONDS, seconds))
        else:
            current.seconds += seconds

    def block(self, method: str, seconds: float) -> None:
        """Make ``method`` exceed the limit for ``seconds`` from now."""
        now = self.clock()
        self._live(method).append(_Basket(now, now + seconds, self.limit + 1.0))

    def operating(self, method: str) -> float:
        return sum(b.seconds for b in self._live(method))

    def blocked(self, method: str) -> bool:
        return self.operating(method) > self.limit

    def reset_in(self, method: str) -> float | None:
        """Seconds until the oldest basket of ``method`` drops out; None without baskets."""
        baskets = self._live(method)
        if not baskets:
            return None
        return min(b.expires for b in baskets) - self.clock()
