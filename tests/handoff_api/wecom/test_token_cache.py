"""TokenCache on memory and Redis, and the split between fast tokens and durable cursors."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.wecom.store import SqlStateCache
from handoff_api.wecom.token_cache import MemoryTokenCache, SplitTokenCache, kf_cursor_key, token_key


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


def test_key_templates():
    assert token_key("ww1", 1000002) == "tre:wecom:token:ww1:1000002"
    assert kf_cursor_key("ww1", "wkA") == "tre:wecom:kf_cursor:ww1:wkA"


async def test_cursors_go_to_the_durable_cache_and_tokens_to_the_fast_one(migrated_engine: AsyncEngine) -> None:
    tokens, durable = MemoryTokenCache(), SqlStateCache(migrated_engine)
    split = SplitTokenCache(tokens, durable)
    await split.set(kf_cursor_key("ww1", "wk1"), "c-9", 60)
    await split.set(token_key("ww1", 1000002), "tok", 60)
    assert (
        await durable.get(kf_cursor_key("ww1", "wk1")) == "c-9"
        and await tokens.get(kf_cursor_key("ww1", "wk1")) is None
    )
    assert await tokens.get(token_key("ww1", 1000002)) == "tok" and await durable.get(token_key("ww1", 1000002)) is None
    assert await split.get(kf_cursor_key("ww1", "wk1")) == "c-9" and await split.get(token_key("ww1", 1000002)) == "tok"
