"""The callback processor's 微信客服 sync: page by page from the stored cursor, each page stored with its cursor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from handoff_api.wecom.crypto import WeComCrypto
from handoff_api.wecom.inbox import CursorUpdate, Keyed, MemoryInbox
from handoff_api.wecom.kf import KfMessage, KfSyncPage, kf_cursor_key
from handoff_api.wecom.parser import parse_message
from handoff_api.wecom.processor import CallbackProcessor, WeComDeps
from tests.handoff_api.wecom.doubles import RecordingHandler, RecordingOutbound

CORP_ID = "ww-processor"
ACCOUNT = "wkKF"
CURSOR_KEY = kf_cursor_key(CORP_ID, ACCOUNT)
CLIENT = "wmAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"
KF_EVENT = (
    "<xml><ToUserName>c</ToUserName><CreateTime>1700000100</CreateTime><MsgType>event</MsgType>"
    f"<Event>kf_msg_or_event</Event><Token>SYNC-TOKEN</Token><OpenKfId>{ACCOUNT}</OpenKfId></xml>"
)


def text(msg_id: str, origin: int = 3) -> KfMessage:
    return KfMessage(msg_id, ACCOUNT, CLIENT, 1700000100, origin, "text", f"问题 {msg_id}")


@dataclass
class PagingOutbound(RecordingOutbound):
    """kf/sync_msg answered from `pages`, keyed by the cursor asked for."""

    pages: dict[str | None, KfSyncPage] = field(default_factory=dict)
    cursors_asked: list[str | None] = field(default_factory=list)

    async def sync_kf_page(self, token: str, open_kfid: str, cursor: str | None) -> KfSyncPage:
        self.cursors_asked.append(cursor)
        return self.pages.get(cursor, KfSyncPage([], None, has_more=False))


class FailingPageInbox(MemoryInbox):
    """Refuses to store the pages whose cursor is in `refused` (the database fails mid-sync)."""

    def __init__(self, refused: set[str]) -> None:
        super().__init__()
        self.refused = refused

    async def add_pulled(
        self,
        kind: str,
        items: Sequence[Keyed],
        *,
        next_attempt_at: datetime,
        cursor: CursorUpdate | None,
    ) -> list[int | None]:
        if cursor is not None and cursor.value in self.refused:
            raise ConnectionError("database unavailable")
        return await super().add_pulled(kind, items, next_attempt_at=next_attempt_at, cursor=cursor)


def processor_with(outbound: PagingOutbound, inbox: MemoryInbox) -> tuple[CallbackProcessor, RecordingHandler]:
    handler = RecordingHandler()
    deps = WeComDeps(
        crypto=WeComCrypto("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", CORP_ID),
        handler=handler,
        outbound=outbound,
        corp_id=CORP_ID,
        inbox=inbox,
    )
    return CallbackProcessor(deps), handler


TWO_PAGES = {
    None: KfSyncPage([text("m1"), text("s1", origin=5)], "2", has_more=True),
    "2": KfSyncPage([text("m2")], "3", has_more=False),
}


async def test_pages_are_pulled_from_the_stored_cursor_and_the_last_cursor_is_kept() -> None:
    outbound, inbox = PagingOutbound(pages=dict(TWO_PAGES)), MemoryInbox()
    processor, handler = processor_with(outbound, inbox)
    await processor.process(parse_message(KF_EVENT))
    assert outbound.cursors_asked == [None, "2"]
    assert [message.msg_id for message in handler.texts] == ["m1", "m2"]  # the servicer's own message is skipped
    assert await inbox.cursor(CURSOR_KEY) == "3"
    await processor.process(parse_message(KF_EVENT.replace("SYNC-TOKEN", "SYNC-2")))
    assert outbound.cursors_asked[-1] == "3"  # the next notification goes on from there


async def test_a_page_that_cannot_be_stored_leaves_the_cursor_before_it() -> None:
    outbound, inbox = PagingOutbound(pages=dict(TWO_PAGES)), FailingPageInbox(refused={"3"})
    processor, handler = processor_with(outbound, inbox)
    with pytest.raises(ConnectionError):
        await processor.process(parse_message(KF_EVENT))
    assert [message.msg_id for message in handler.texts] == ["m1"]  # the stored page is still handled
    assert await inbox.cursor(CURSOR_KEY) == "2"
    inbox.refused.clear()
    await processor.process(parse_message(KF_EVENT))  # the retry pulls the refused page again
    assert outbound.cursors_asked[-1] == "2"
    assert [message.msg_id for message in handler.texts] == ["m1", "m2"]
    assert await inbox.cursor(CURSOR_KEY) == "3"
