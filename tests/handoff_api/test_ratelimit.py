"""Token buckets."""

from __future__ import annotations

import pytest

from handoff_api.ratelimit import BucketRegistry, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(3, 0.5, clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now = 1.9
    assert not bucket.take()
    clock.now = 2.0
    assert bucket.take() and not bucket.take()


def test_registry_keeps_one_bucket_per_key() -> None:
    registry = BucketRegistry(1, 0.1, Clock())
    assert registry.take("a") and not registry.take("a")
    assert registry.take("b")


def test_bucket_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0, 1)
