"""The Outbox contract, run against memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from handoff_api.wecom.outbox import Backlog, OutboxStatus
from handoff_api.wecom.store import wecom_inbox, wecom_outbox
from routing.sql_tables import metadata

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
PAYLOAD = {"touser": "zhangsan", "msgtype": "text", "agentid": 1, "text": {"content": "您好"}}


async def test_add_then_due_in_id_order(outbox):
    first = await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW)
    second = await outbox.add("kf_send_msg", {"n": 2}, next_attempt_at=NOW - timedelta(seconds=5))
    later = await outbox.add("message_send", {"n": 3}, next_attempt_at=NOW + timedelta(minutes=5))
    due = await outbox.due(NOW)
    assert [message.id for message in due] == [first, second]
    assert due[0].payload == PAYLOAD and due[0].kind == "message_send"
    assert due[0].status is OutboxStatus.PENDING and due[0].attempts == 0
    assert later not in [message.id for message in due]


async def test_due_leases_messages_so_they_are_not_handed_out_twice(outbox):
    message_id = await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW)
    assert [m.id for m in await outbox.due(NOW, lease_seconds=60)] == [message_id]
    assert await outbox.due(NOW + timedelta(seconds=59)) == []
    assert [m.id for m in await outbox.due(NOW + timedelta(seconds=61))] == [message_id]


async def test_concurrent_drainers_split_the_work(outbox):
    ids = [await outbox.add("message_send", {"n": n}, next_attempt_at=NOW) for n in range(10)]
    batches = await asyncio.gather(*(outbox.due(NOW, limit=10) for _ in range(4)))
    handed_out = [message.id for batch in batches for message in batch]
    assert sorted(handed_out) == ids


async def test_mark_sent_and_mark_failed(outbox):
    sent_id = await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW, attempts=1, last_error="network")
    retry_id = await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW)
    dead_id = await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW)
    await outbox.mark_sent(sent_id, NOW + timedelta(seconds=1))
    await outbox.mark_failed(retry_id, "errcode 45009", NOW + timedelta(minutes=1))
    await outbox.mark_failed(dead_id, "errcode 40003", None)
    sent, retry, dead = [await outbox.get(i) for i in (sent_id, retry_id, dead_id)]
    assert sent is not None and sent.status is OutboxStatus.SENT and sent.attempts == 2
    assert sent.sent_at == NOW + timedelta(seconds=1)
    assert retry is not None and retry.status is OutboxStatus.PENDING and retry.attempts == 1
    assert retry.last_error == "errcode 45009" and retry.next_attempt_at == NOW + timedelta(minutes=1)
    assert dead is not None and dead.status is OutboxStatus.FAILED and dead.last_error == "errcode 40003"
    assert [m.id for m in await outbox.due(NOW + timedelta(days=1))] == [retry_id]
    assert await outbox.get(10_000) is None


async def test_sent_and_failed_messages_are_never_due_again(outbox):
    sent_id = await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW)
    dead_id = await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW)
    await outbox.mark_sent(sent_id, NOW)
    await outbox.mark_failed(dead_id, "gone", None)
    assert await outbox.due(NOW + timedelta(days=30)) == []


async def test_naive_timestamps_are_refused(outbox):
    with pytest.raises(ValueError):
        await outbox.add("message_send", PAYLOAD, next_attempt_at=datetime(2025, 1, 1))


def test_table_shape():
    assert wecom_outbox.metadata is metadata and wecom_inbox.metadata is metadata  # one schema for Alembic
    assert set(wecom_outbox.c.keys()) == {
        "id",
        "kind",
        "payload",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
    }


async def test_the_backlog_counts_pending_and_given_up_messages_and_dates_the_oldest_pending(outbox):
    assert await outbox.backlog() == Backlog(0, 0, None)
    first = await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW)
    await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW + timedelta(minutes=5))
    sent_id = await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW)
    dead_id = await outbox.add("message_send", PAYLOAD, next_attempt_at=NOW)
    await outbox.mark_sent(sent_id, NOW)
    await outbox.mark_failed(dead_id, "errcode 40003", None)
    backlog = await outbox.backlog()
    stored = await outbox.get(first)
    assert (backlog.pending, backlog.failed) == (2, 1)
    assert stored is not None and backlog.oldest_pending_at == stored.created_at
