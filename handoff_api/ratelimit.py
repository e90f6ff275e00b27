"""Token buckets: per-client message rates and per-connection frame rates."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Monotonic = Callable[[], float]


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled at `rate_per_second`; each action takes one."""

    capacity: float
    rate_per_second: float
    clock: Monotonic = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        if self.capacity <= 0 or self.rate_per_second <= 0:
            raise ValueError("capacity and rate must be positive")
        self.tokens = self.capacity
        self.updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate_per_second)
        self.updated = now

    def take(self) -> bool:
        """Take one token if there is one."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def idle_full(self) -> bool:
        """True when the bucket has refilled completely (it can be forgotten)."""
        self._refill()
        return self.tokens >= self.capacity


class BucketRegistry:
    """One bucket per key (e.g. client id), shared by that key's connections in this process."""

    def __init__(self, capacity: float, rate_per_second: float, clock: Monotonic = time.monotonic) -> None:
        self._capacity = capacity
        self._rate = rate_per_second
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str) -> bool:
        """Take one token from the key's bucket."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._buckets = {k: b for k, b in self._buckets.items() if not b.idle_full()}
            bucket = self._buckets[key] = TokenBucket(self._capacity, self._rate, self._clock)
        return bucket.take()
