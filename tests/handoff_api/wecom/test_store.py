"""The WeCom SQL stores over migrated SQLite and PostgreSQL databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.wecom.identity import ConversationLink, IdentityKind
from handoff_api.wecom.store import ConversationLinks, SqlStateCache, wecom_state
from routing.memory import ManualClock

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def link(conversation_id: str, created_at: datetime, user: str = "wmUSER", client: str = "C1") -> ConversationLink:
    return ConversationLink(conversation_id, user, client, IdentityKind.KF, "wkKF", created_at)


async def test_links_are_found_by_conversation_and_by_user_newest_first(migrated_engine: AsyncEngine) -> None:
    links = ConversationLinks(migrated_engine)
    await links.add(link("c-old", T0))
    await links.add(link("c-new", T0 + timedelta(hours=1)))
    await links.add(link("c-other", T0, user="wmOTHER"))
    assert [found.conversation_id for found in await links.for_user("wmUSER", "C1")] == ["c-new", "c-old"]
    assert await links.for_user("wmUSER", "C2") == []
    stored = await links.get("c-old")
    assert stored == link("c-old", T0) and stored.identity.open_kfid == "wkKF"
    assert await links.get("c-missing") is None


async def test_a_link_remembers_the_latest_route_and_never_moves_its_relay_mark_back(
    migrated_engine: AsyncEngine,
) -> None:
    links = ConversationLinks(migrated_engine)
    await links.add(link("c1", T0))
    await links.touch("c1", IdentityKind.STAFF, None, T0 + timedelta(days=2))
    await links.advance("c1", 5)
    await links.advance("c1", 3)
    stored = await links.get("c1")
    assert stored is not None and (stored.kind, stored.open_kfid, stored.relayed_seq) == ("staff", None, 5)
    assert [found.conversation_id for found in await links.recent(T0 + timedelta(days=1))] == ["c1"]
    assert await links.recent(T0 + timedelta(days=3)) == []


async def test_the_state_cache_keeps_values_durably_until_they_expire(migrated_engine: AsyncEngine) -> None:
    cache = SqlStateCache(migrated_engine)
    assert await cache.get("tre:wecom:kf_cursor:ww1:wk1") is None
    await cache.set("tre:wecom:kf_cursor:ww1:wk1", "cursor-1", 60)
    await cache.set("tre:wecom:kf_cursor:ww1:wk1", "cursor-2", 60)
    assert await SqlStateCache(migrated_engine).get("tre:wecom:kf_cursor:ww1:wk1") == "cursor-2"  # another worker
    await cache.set("short", "v", 1)
    async with migrated_engine.begin() as connection:  # let it expire without sleeping
        await connection.execute(
            wecom_state.update().where(wecom_state.c.key == "short").values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    assert await cache.get("short") is None
    with pytest.raises(ValueError, match="positive"):
        await cache.set("k", "v", 0)


async def test_state_values_expire_by_the_injected_clock(migrated_engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    cache = SqlStateCache(migrated_engine, clock)
    await cache.set("tre:wecom:kf_cursor:ww1:wk1", "cursor-1", 60)
    clock.advance(59)
    assert await cache.get("tre:wecom:kf_cursor:ww1:wk1") == "cursor-1"
    clock.advance(1)
    assert await cache.get("tre:wecom:kf_cursor:ww1:wk1") is None
