"""Helpers shared by tests that start real servers or share the real Redis."""

from __future__ import annotations

import socket

from redis import Redis


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def drop_redis_keys(url: str, prefix: str) -> None:
    """Delete every key a test wrote under its own prefix."""
    redis = Redis.from_url(url)
    try:
        keys = list(redis.scan_iter(match=f"{prefix}*"))
        if keys:
            redis.delete(*keys)
    finally:
        redis.close()
