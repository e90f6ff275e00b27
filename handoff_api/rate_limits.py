"""Request rate limits (the `limits` library): moving windows shared through Redis, or in memory for one process.

One limiter per API process: `RateLimiter.for_redis(url, prefix)` when REDIS_URL is set, so every worker counts
against the same windows, else `RateLimiter.in_memory()`. A rule is a limits string such as "120/minute" or
"10/second;500/hour" (every part must allow). A refused request learns how many seconds until it may retry.
If the Redis storage fails, requests are let through and the failure is logged: the limiter protects the
service, it must not be what takes it down.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool

from handoff_api.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go ahead, and if not, how many seconds until it may."""

    allowed: bool
    retry_after: int = 0


ALLOWED = Verdict(True)


class RateLimit:
    """A parsed rule ("120/minute", "10/second;500/hour") under a name that keeps its counters apart."""

    def __init__(self, name: str, rule: str) -> None:
        self.name = name
        self.rule = rule
        self.items: Sequence[RateLimitItem] = parse_many(rule)


@dataclass(frozen=True)
class RequestLimits:
    """The client API's limits: per API key, per client, and failed authentications per address."""

    api_key: RateLimit
    client: RateLimit
    auth_failures: RateLimit

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestLimits:
        """RATE_LIMIT_API_KEY, RATE_LIMIT_CLIENT and RATE_LIMIT_AUTH_FAILURES."""
        return cls(
            RateLimit("api-key", settings.rate_limit_api_key),
            RateLimit("client", settings.rate_limit_client),
            RateLimit("auth-failures", settings.rate_limit_auth_failures),
        )


@dataclass(frozen=True)
class LoginLimits:
    """Failed staff sign-ins: per staff id (as typed) and per address."""

    per_staff: RateLimit
    per_address: RateLimit

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        """RATE_LIMIT_STAFF_LOGIN_ID and RATE_LIMIT_STAFF_LOGIN_ADDRESS."""
        return cls(
            RateLimit("staff-login-id", settings.rate_limit_staff_login_id),
            RateLimit("staff-login-address", settings.rate_limit_staff_login_address),
        )


class ThrottledMemoryStorage(MemoryStorage):
    """limits' in-process storage, with its clean-up pass at most once per `EXPIRY_INTERVAL`.

    As shipped (limits 5.8) the storage starts a pass over every key, each with a thread hop, after nearly every
    hit: about a tenth of the API's CPU per bot turn under load in a profile. The moving window compares entry
    times itself, so a later clean-up changes no answer, it only frees memory a little later.
    """

    EXPIRY_INTERVAL = 1.0
    _last_expiry = float("-inf")

    async def _MemoryStorage__schedule_expiry(self) -> None:  # the base class's private hook
        now = time.monotonic()
        if now - self._last_expiry < self.EXPIRY_INTERVAL:
            return
        self._last_expiry = now
        await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


class RateLimiter:
    """Moving-window counters per (limit, key) over a `limits` async storage."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._strategy = MovingWindowRateLimiter(storage)

    @classmethod
    def in_memory(cls) -> RateLimiter:
        """Counters in this process only (no REDIS_URL: one worker)."""
        return cls(ThrottledMemoryStorage(wrap_exceptions=True))

    @classmethod
    def for_redis(cls, redis_url: str, key_prefix: str, pool: ConnectionPool | None = None) -> RateLimiter:
        """Counters in Redis under `key_prefix`, shared by every worker (redis-py, on the API's own pool if given)."""
        options: dict[str, Any] = {"connection_pool": pool} if pool is not None else {}
        uri = f"async+{redis_url}"
        return cls(RedisStorage(uri, wrap_exceptions=True, implementation="redispy", key_prefix=key_prefix, **options))

    async def hit(self, limit: RateLimit, key: str) -> Verdict:
        """Count one request of `key` against `limit`; refused (with a wait) if a window is full."""
        try:
            for item in limit.items:
                if not await self._strategy.hit(item, limit.name, key):
                    return await self._refused(limit, key)
        except StorageError as exc:
            log.error("rate limit %s not checked, storage failed: %s", limit.name, type(exc.storage_error).__name__)
        return ALLOWED

    async def check(self, limit: RateLimit, key: str) -> Verdict:
        """Whether one more request of `key` would be allowed, without counting it."""
        try:
            for item in limit.items:
                if not await self._strategy.test(item, limit.name, key):
                    return await self._refused(limit, key)
        except StorageError as exc:
            log.error("rate limit %s not checked, storage failed: %s", limit.name, type(exc.storage_error).__name__)
        return ALLOWED

    async def _refused(self, limit: RateLimit, key: str) -> Verdict:
        """A refusal with the seconds until the fullest window has room again."""
        waits = []
        for item in limit.items:
            stats = await self._strategy.get_window_stats(item, limit.name, key)
            if stats.remaining <= 0:
                waits.append(stats.reset_time - time.time())
        return Verdict(False, max(1, math.ceil(max(waits, default=1.0))))

    async def reset(self) -> None:
        """Forget every counter (tests)."""
        await self._storage.reset()
