"""CannedReplyStore: the same behaviour in memory and on SQL (SQLite, PostgreSQL), seeded alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from routing.canned import DEFAULT_REPLIES, CannedReply, CannedReplyStore, CannedTeam
from routing.memory_canned import MemoryCannedReplies, default_replies
from routing.sql_canned import SqlCannedReplies
from routing.sql_engine import create_engine_for
from tests.routing.contract.record_backends import BACKENDS, migrated_url

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CannedReplyStore]:
    if request.param == "memory":
        yield MemoryCannedReplies()
        return
    with migrated_url(request, request.param, tmp_path) as url:
        engine = create_engine_for(url)
        try:
            yield SqlCannedReplies(engine)
        finally:
            await engine.dispose()


def reply(reply_id: str, team: CannedTeam, title: str = "标题") -> CannedReply:
    return CannedReply(reply_id, team, title, f"{title}：{{客户姓名}}您好", "dm-sh", AT)


async def test_starts_with_the_six_default_replies_for_everyone(store: CannedReplyStore) -> None:
    replies = await store.list_replies()
    assert replies == sorted(default_replies(), key=lambda r: (r.team.value, r.title, r.id))
    assert {(r.title, r.text) for r in replies} == set(DEFAULT_REPLIES)
    assert {r.team for r in replies} == {CannedTeam.ALL}


async def test_save_get_overwrite_delete(store: CannedReplyStore) -> None:
    await store.save_reply(reply("x1", CannedTeam.ADVISOR))
    assert await store.get_reply("x1") == reply("x1", CannedTeam.ADVISOR)
    changed = reply("x1", CannedTeam.SERVICE, "改后")
    await store.save_reply(changed)
    assert await store.get_reply("x1") == changed
    assert await store.delete_reply("x1") is True
    assert await store.delete_reply("x1") is False
    assert await store.get_reply("x1") is None


async def test_lists_by_team_in_order(store: CannedReplyStore) -> None:
    await store.save_reply(reply("x2", CannedTeam.ADVISOR, "乙"))
    await store.save_reply(reply("x1", CannedTeam.ADVISOR, "甲"))
    await store.save_reply(reply("x3", CannedTeam.RESPONDER))
    advisor = await store.list_replies(frozenset({CannedTeam.ADVISOR}))
    assert [r.id for r in advisor] == sorted(["x1", "x2"], key=lambda i: {"x1": "甲", "x2": "乙"}[i])
    mixed = await store.list_replies(frozenset({CannedTeam.RESPONDER, CannedTeam.ALL}))
    assert {r.team for r in mixed} == {CannedTeam.RESPONDER, CannedTeam.ALL} and len(mixed) == 7
