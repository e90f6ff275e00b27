"""The request limiter: moving windows in memory or shared in Redis; a failing Redis lets requests through."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from limits.aio.storage import MemoryStorage
from redis.asyncio import Redis

from handoff_api.rate_limits import RateLimit, RateLimiter, RequestLimits, ThrottledMemoryStorage
from handoff_api.settings import Settings
from tests.net import TEST_REDIS_URL, drop_redis_keys


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"tre-limits-{uuid.uuid4().hex[:8]}"
    yield prefix
    drop_redis_keys(TEST_REDIS_URL, prefix)


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest, redis_prefix: str) -> RateLimiter:
    if request.param == "memory":
        return RateLimiter.in_memory()
    return RateLimiter.for_redis(TEST_REDIS_URL, redis_prefix)


async def test_a_full_window_refuses_with_the_wait_and_keys_are_apart(limiter: RateLimiter) -> None:
    limit = RateLimit("test", "3/minute")
    verdicts = [await limiter.hit(limit, "k1") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert 58 <= verdicts[-1].retry_after <= 60
    assert (await limiter.hit(limit, "k2")).allowed
    assert not (await limiter.check(limit, "k1")).allowed and (await limiter.check(limit, "k3")).allowed
    assert (await limiter.check(limit, "k3")).allowed  # checking does not count


async def test_every_part_of_a_rule_must_allow(limiter: RateLimiter) -> None:
    limit = RateLimit("several", "2/second;3/hour")
    assert [(await limiter.hit(limit, "k")).allowed for _ in range(2)] == [True, True]
    refused = await limiter.hit(limit, "k")
    assert not refused.allowed and refused.retry_after >= 1


async def test_two_workers_on_one_redis_share_the_windows(redis_prefix: str) -> None:
    pool_owner = Redis.from_url(TEST_REDIS_URL)
    try:
        first = RateLimiter.for_redis(TEST_REDIS_URL, redis_prefix, pool_owner.connection_pool)
        second = RateLimiter.for_redis(TEST_REDIS_URL, redis_prefix)
        limit = RateLimit("shared", "4/minute")
        verdicts = [await (first if index % 2 else second).hit(limit, "client-1") for index in range(5)]
        assert [v.allowed for v in verdicts] == [True, True, True, True, False]
    finally:
        await pool_owner.aclose()


async def test_an_unreachable_redis_lets_requests_through_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter.for_redis("redis://127.0.0.1:1/0", "tre-nowhere")
    limit = RateLimit("test", "1/minute")
    assert (await limiter.hit(limit, "k")).allowed and (await limiter.hit(limit, "k")).allowed
    assert (await limiter.check(limit, "k")).allowed
    assert "rate limit test not checked" in caplog.text


def test_the_request_limits_come_from_the_settings() -> None:
    limits = RequestLimits.from_settings(
        Settings(_env_file=None, rate_limit_api_key="7/second", rate_limit_auth_failures="2/minute")
    )
    assert (limits.api_key.rule, limits.client.rule, limits.auth_failures.rule) == (
        "7/second",
        "120/minute",
        "2/minute",
    )
    assert {limits.api_key.name, limits.client.name, limits.auth_failures.name} == {
        "api-key",
        "client",
        "auth-failures",
    }


async def test_the_in_memory_clean_up_runs_at_most_once_per_interval_and_changes_no_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    passes = 0
    base_schedule = MemoryStorage._MemoryStorage__schedule_expiry  # type: ignore[attr-defined]

    async def counted(self: MemoryStorage) -> None:
        nonlocal passes
        passes += 1
        await base_schedule(self)

    monkeypatch.setattr(MemoryStorage, "_MemoryStorage__schedule_expiry", counted)
    limiter = RateLimiter.in_memory()
    limit = RateLimit("burst", "50/second")
    verdicts = [await limiter.hit(limit, f"client-{n % 20}") for n in range(400)]
    assert passes <= 3  # was one pass (over every key) per hit
    assert all(v.allowed for v in verdicts)  # 20 clients, 20 hits each: within 50/second
    one = RateLimit("one", "2/second")
    assert [(await limiter.hit(one, "k")).allowed for _ in range(3)] == [True, True, False]
    assert isinstance(limiter._storage, ThrottledMemoryStorage)
