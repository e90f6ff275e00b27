"""TokenCache on memory and Redis."""

from __future__ import annotations

import uuid

import pytest

from handoff_api.wecom.token_cache import MemoryTokenCache, token_key


async def test_get_returns_what_was_set(token_cache):
    key = token_key(f"ww-fake-{uuid.uuid4().hex[:8]}", 1000002)
    assert await token_cache.get(key) is None
    await token_cache.set(key, "token-abc", 60)
    assert await token_cache.get(key) == "token-abc"
    await token_cache.set(key, "token-def", 60)
    assert await token_cache.get(key) == "token-def"


async def test_non_positive_ttls_are_refused(token_cache):
    with pytest.raises(ValueError):
        await token_cache.set(token_key("ww-fake-x", 1), "t", 0)


async def test_memory_entries_expire():
    now = [100.0]
    cache = MemoryTokenCache(clock=lambda: now[0])
    await cache.set("k", "v", 10)
    now[0] = 109.9
    assert await cache.get("k") == "v"
    now[0] = 110.0
    assert await cache.get("k") is None


def test_key_template():
    assert token_key("ww1", 1000002) == "tre:wecom:token:ww1:1000002"
