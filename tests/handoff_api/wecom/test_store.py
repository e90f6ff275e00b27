"""The conversation links over migrated SQLite and PostgreSQL databases (the inbox and outbox stores have
contract tests of their own, in test_inbox and test_outbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.wecom.identity import ConversationLink, IdentityKind
from handoff_api.wecom.store import ConversationLinks

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
