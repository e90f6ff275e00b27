"""The widget's transcript feed: every message once, in seq order, read from the record only when needed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handoff_api.widget import transcript as transcript_module
from handoff_api.widget.transcript import TranscriptFeed
from routing.models import Message, SenderKind

AT = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


def message(seq: int, sender: SenderKind = SenderKind.CLIENT) -> Message:
    return Message(f"m{seq}", "c1", seq, sender, f"第{seq}条", AT)


class Record:
    """The stored transcript and the reads made of it."""

    def __init__(self, count: int) -> None:
        self.messages = [message(seq) for seq in range(1, count + 1)]
        self.reads: list[int] = []
        self.sent: list[dict[str, Any]] = []

    async def read_after(self, after_seq: int, limit: int) -> list[Message]:
        self.reads.append(after_seq)
        return [m for m in self.messages if m.seq > after_seq][:limit]

    async def send(self, envelope: Any) -> None:
        self.sent.append(dict(envelope))

    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.sent if e["type"] == "message"]


async def test_nothing_is_sent_before_the_resume_point_is_known() -> None:
    record = Record(2)
    feed = TranscriptFeed(record.send, record.read_after)
    await feed.catch_up()
    await feed.deliver([message(1)])
    assert record.sent == [] and record.reads == [] and not feed.resumed


async def test_resume_sends_what_follows_and_remembers_the_last_seq() -> None:
    record = Record(4)
    feed = TranscriptFeed(record.send, record.read_after)
    await feed.resume(2)
    assert record.seqs() == [3, 4] and feed.sent_seq == 4 and feed.knows(4) and not feed.knows(5)


async def test_a_turns_own_messages_that_follow_on_are_sent_without_a_read() -> None:
    record = Record(0)
    feed = TranscriptFeed(record.send, record.read_after)
    await feed.resume(0)
    record.reads.clear()
    await feed.deliver([message(1)], {1: "m-1"})
    await feed.deliver([message(2, SenderKind.BOT), message(1)])
    assert record.reads == [] and record.seqs() == [1, 2] and record.sent[0]["client_msg_id"] == "m-1"


async def test_a_gap_before_a_turns_messages_is_filled_from_the_record() -> None:
    record = Record(3)
    feed = TranscriptFeed(record.send, record.read_after)
    await feed.resume(1)
    record.sent.clear()
    record.reads.clear()
    record.messages.append(message(4))
    await feed.deliver([message(4)], {4: "m-4"})
    assert record.seqs() == [4] and record.reads == []
    record.messages += [message(5), message(6)]
    await feed.deliver([message(6)], {6: "m-6"})
    assert record.seqs() == [4, 5, 6] and record.reads == [4]
    assert [e.get("client_msg_id") for e in record.sent if e["type"] == "message"] == ["m-4", None, "m-6"]


async def test_catch_up_reads_in_batches_until_the_end(monkeypatch) -> None:
    monkeypatch.setattr(transcript_module, "SYNC_BATCH", 2)
    record = Record(5)
    feed = TranscriptFeed(record.send, record.read_after)
    await feed.resume(0)
    assert record.seqs() == [1, 2, 3, 4, 5] and record.reads == [0, 2, 4]


async def test_derived_envelopes_follow_their_message() -> None:
    record = Record(0)
    record.messages = [Message("m1", "c1", 1, SenderKind.BOT, "答", AT, {"type": "answer", "faq_id": "f1"})]
    feed = TranscriptFeed(record.send, record.read_after)
    await feed.resume(0)
    assert [(e["type"], e["seq"]) for e in record.sent] == [("message", 1), ("feedback_request", 1)]
