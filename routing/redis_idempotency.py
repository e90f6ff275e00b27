"""IdempotencyStore on Redis: SET-if-absent with expiry, judged by the injected clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from routing.ports import Clock
from routing.redis_keys import RedisKeys

# The stored value is the claim's expiry by the engine's clock; Redis' own TTL only cleans up.
_CLAIM = """
local now, expires, ttl_ms = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) > now then return 0 end
redis.call('SET', KEYS[1], expires, 'PX', ttl_ms)
return 1
"""


class RedisIdempotencyStore:
    """routing.ports.IdempotencyStore on Redis."""

    def __init__(self, client: Redis, clock: Clock, keys: RedisKeys | None = None) -> None:
        self._clock = clock
        self._keys = keys or RedisKeys()
        self._client = client
        self._claim = client.register_script(_CLAIM)

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """True the first time a key is claimed within `ttl_seconds`, False afterwards."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        now = self._clock.now()
        now_ms = int(now.timestamp() * 1000)
        expires_ms = int((now + timedelta(seconds=ttl_seconds)).timestamp() * 1000)
        args: list[Any] = [now_ms, expires_ms, ttl_seconds * 1000]
        return bool(await self._claim(keys=[self._keys.idempotency(key)], args=args))

    async def release(self, key: str) -> None:
        """Forget the claim, if any."""
        await self._client.delete(self._keys.idempotency(key))
