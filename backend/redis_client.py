"""The shared Redis of a several-replica deployment (``VIZA_REDIS_URL``).

What lives there is what replicas must agree on from moment to moment and may lose on a Redis
restart without harm: the bot's dialog state (aiogram's RedisStorage), which Telegram updates
were handled, the per-chat lock that keeps one chat's updates in order, and the Telegram rate
buckets. Everything that must not be lost stays in the database.
"""

from __future__ import annotations

from redis.asyncio import Redis

KEY_PREFIX = "viza:"


def connect(url: str) -> Redis:
    # Short timeouts: a Redis that does not answer should fail a readiness probe or a tap quickly,
    # not hang them; health_check_interval re-checks idle pooled connections before use.
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
