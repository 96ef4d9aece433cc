"""Each Telegram update handled once, one at a time per chat — across replicas.

Behind a load balancer, Telegram's webhook may hand two updates of one chat to two replicas at
once (it keeps several connections open), and delivers an update again when our answer was
late or a replica died before answering. So before an update is handled:

* the **chat's lock** is taken (with Redis: ``SET NX PX``, renewed while the update is handled,
  so a replica that dies mid-update holds it for at most ``lease`` seconds);
* under it, the update's **done mark** is checked: an update already handled is answered 200
  and not handled again;
* after it — handled, or failed in a handler (a bug would fail again, so it is not retried) —
  the done mark is set for a day, then the lock released.

An update whose chat stays locked longer than ``wait`` raises :class:`UpdateBusy`; the webhook
answers 503 and Telegram delivers it again later. So it is at least once: an update is handled
again only when a replica died between its effects and its done mark, and the handlers are
safe to repeat (a second tap on a decided request changes nothing).

Without Redis (one process) the lock is the dispatcher's own and the done marks are a bounded
memory of recent update ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Protocol

from redis.asyncio import Redis

log = logging.getLogger("viza.bot")

DONE_SECONDS = 24 * 3600  # Telegram gives up redelivering long before this
REMEMBERED_LOCALLY = 10_000


class UpdateBusy(Exception):
    """The update's chat is being handled elsewhere for too long: have it delivered again."""


class UpdateGate(Protocol):
    def hold(self, update_id: int, chat_key: str) -> contextlib.AbstractAsyncContextManager[bool]:
        """Enter with True when this update is to be handled here, False when it was handled."""


class LocalUpdateGate:
    """One process: the dispatcher keeps each chat in order; this remembers recent update ids."""

    def __init__(self, remembered: int = REMEMBERED_LOCALLY) -> None:
        self.remembered = remembered
        self._done: OrderedDict[int, None] = OrderedDict()

    @contextlib.asynccontextmanager
    async def hold(self, update_id: int, chat_key: str) -> AsyncIterator[bool]:
        if update_id in self._done:
            yield False
            return
        try:
            yield True
        except asyncio.CancelledError:
            raise  # stopped before it finished: it may come again
        except BaseException:
            self._remember(update_id)
            raise
        self._remember(update_id)

    def _remember(self, update_id: int) -> None:
        self._done[update_id] = None
        while len(self._done) > self.remembered:
            self._done.popitem(last=False)


# Two round trips an update: taking the chat's lock answers whether the update was handled
# already; finishing marks it done (when handled) and releases the lock only while it is still
# ours (another replica may hold it by now, after our lease ran out).
_TAKE = ("if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then "
         "return 1 + redis.call('EXISTS', KEYS[2]) end return 0")  # 0 taken elsewhere, 1 new, 2 done
_FINISH = ("if ARGV[2] == '1' then redis.call('SET', KEYS[2], '1', 'EX', ARGV[3]) end "
           "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0")
_RENEW = ("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
          "return 0")


class RedisUpdateGate:
    def __init__(self, redis: Redis, *, namespace: str, lease: float = 10.0, wait: float = 20.0,
                 poll: float = 0.005, max_poll: float = 0.05) -> None:
        self.redis = redis
        self.prefix = f"viza:tg:{namespace}:"
        self.lease_ms = int(lease * 1000)
        self.wait = wait
        # A chat's updates are handled in tens of milliseconds: a waiter on another replica asks
        # again soon (a Redis round trip is ~0.1 ms), or the handover itself becomes the latency.
        self.poll, self.max_poll = poll, max_poll
        self._take = redis.register_script(_TAKE)
        self._finish = redis.register_script(_FINISH)
        self._renew = redis.register_script(_RENEW)

    async def _lock(self, lock: str, done: str, token: str) -> bool:
        """Take the chat's lock; True when the update was handled already."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        delay = self.poll
        while not (taken := await self._take(keys=[lock, done], args=[token, self.lease_ms])):
            if loop.time() >= deadline:
                raise UpdateBusy(lock)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_poll)
        return taken == 2

    async def _keep(self, key: str, token: str) -> None:
        """Renew the lock a few times per lease while the update is handled."""
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            if not await self._renew(keys=[key], args=[token, self.lease_ms]):
                log.warning("lost the lock %s while handling an update (took longer than the lease?)", key)
                return

    @contextlib.asynccontextmanager
    async def hold(self, update_id: int, chat_key: str) -> AsyncIterator[bool]:
        lock, done = self.prefix + "lock:" + chat_key, self.prefix + f"done:{update_id}"
        token = secrets.token_hex(8)
        handled_already = await self._lock(lock, done, token)
        keeper = asyncio.create_task(self._keep(lock, token))
        finished = False  # handled (or failed in a handler): marked done as the lock is released
        try:
            if handled_already:
                yield False
                return
            try:
                yield True
            except asyncio.CancelledError:
                raise  # stopped before it finished: it may come again
            except BaseException:
                finished = True
                raise
            finished = True
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            if finished:
                await self._finish(keys=[lock, done], args=[token, "1", DONE_SECONDS])
            else:
                with contextlib.suppress(Exception):  # an unreleased lock expires by itself
                    await self._finish(keys=[lock, done], args=[token, "0", DONE_SECONDS])
