"""Shared cache for the WeCom access token: memory or Redis (the 微信客服 sync cursor lives in SQL)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from routing.redis_keys import WECOM_ACCESS_TOKEN as TOKEN_KEY_TEMPLATE


def token_key(corp_id: str, agent_id: int | str) -> str:
    """Cache key of one application's access token."""
    return TOKEN_KEY_TEMPLATE.format(corp_id=corp_id, agent_id=agent_id)


class TokenCache(Protocol):
    """A small expiring key-value store shared by every API worker."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_seconds: int) -> None: ...


class MemoryTokenCache:
    """Process-local TokenCache (one worker)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if self._clock() >= expires_at:
            del self._values[key]
            return None
        return value

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._values[key] = (value, self._clock() + ttl_seconds)


class RedisTokenCache:
    """TokenCache on Redis, so that every worker shares one token."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(key)
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        await self._redis.set(key, value, ex=ttl_seconds)
