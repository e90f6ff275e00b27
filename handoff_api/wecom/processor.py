"""Handling of verified WeCom callback messages: each is kept in the inbox until it is handled.

A text becomes an InboundText for the conversation flow; a 微信客服 notification (kf_msg_or_event)
pulls the new 微信客服 messages and stores each before any is handled; other message types get a
polite text-only notice where it can arrive. The HTTP side is handoff_api.wecom.router.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from handoff_api.wecom.client import SendResult
from handoff_api.wecom.crypto import WeComCrypto
from handoff_api.wecom.identity import IdentityKind, InboundText
from handoff_api.wecom.inbox import CursorUpdate, Inbox, InboxRetention, InboxRetryPolicy, InboxWorker, MemoryInbox
from handoff_api.wecom.kf import (
    KF_CURSOR_TTL_SECONDS,
    KF_ORIGIN_CLIENT,
    KF_SYNC_MAX_PAGES,
    KfMessage,
    KfSyncPage,
    kf_cursor_key,
    kf_from_payload,
    kf_payload,
)
from handoff_api.wecom.parser import (
    EventMessage,
    InboundMessage,
    KfMsgOrEventMessage,
    TextMessage,
    UnsupportedMessage,
    parse_message,
)
from handoff_api.wecom.settings import WeComSettings
from handoff_api.wecom.tasks import BackgroundTaskSet
from routing.memory import SystemClock
from routing.ports import Clock

logger = logging.getLogger(__name__)

UNSUPPORTED_REPLY = "暂时只支持文字消息，请用文字描述您的问题。"


class InboundHandler(Protocol):
    """The conversation flow's entry point for WeCom texts."""

    async def handle_text(self, message: InboundText) -> None: ...


class WeComOutbound(Protocol):
    """The part of WeComClient the callback needs."""

    async def send_text(self, user_ids: Sequence[str], content: str) -> SendResult: ...

    async def send_kf_text(self, external_userid: str, open_kfid: str, content: str) -> SendResult: ...

    async def sync_kf_page(self, token: str, open_kfid: str, cursor: str | None) -> KfSyncPage: ...


@dataclass
class WeComDeps:
    """Everything the callback router needs, supplied by the composition root."""

    crypto: WeComCrypto
    handler: InboundHandler
    outbound: WeComOutbound
    max_body_bytes: int = 64 * 1024
    open_kfid: str | None = None
    corp_id: str = ""
    """Names the 微信客服 sync cursors this corp's accounts keep."""
    tasks: BackgroundTaskSet = field(default_factory=BackgroundTaskSet)
    inbox: Inbox = field(default_factory=MemoryInbox)
    """Accepted messages until handled (SqlInbox, the wecom_inbox table, in the app)."""
    inbox_retry: InboxRetryPolicy = field(default_factory=InboxRetryPolicy)
    inbox_retention: InboxRetention = field(default_factory=InboxRetention)
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(
        cls,
        settings: WeComSettings,
        *,
        handler: InboundHandler,
        outbound: WeComOutbound,
        inbox: Inbox | None = None,
        inbox_retry: InboxRetryPolicy | None = None,
        inbox_retention: InboxRetention | None = None,
        clock: Clock | None = None,
    ) -> WeComDeps:
        """Build the crypto (receive id = corp id, skew from settings) and the deps."""
        crypto = WeComCrypto(
            settings.token,
            settings.encoding_aes_key,
            settings.corp_id,
            timestamp_skew_seconds=settings.timestamp_skew_seconds,
        )
        return cls(
            crypto=crypto,
            handler=handler,
            outbound=outbound,
            max_body_bytes=settings.max_body_bytes,
            open_kfid=settings.open_kfid or None,
            corp_id=settings.corp_id,
            inbox=inbox or MemoryInbox(clock),
            inbox_retry=inbox_retry or InboxRetryPolicy(),
            inbox_retention=inbox_retention or InboxRetention(),
            clock=clock or SystemClock(),
        )


def classify_sender(user_id: str) -> IdentityKind:
    """External contacts' ids start with wm/wo and are long opaque strings; staff ids are set by the corp."""
    looks_external = user_id[:2] in ("wm", "wo") and len(user_id) >= 20 and user_id.isascii()
    return IdentityKind.EXTERNAL_CONTACT if looks_external else IdentityKind.STAFF


def dedup_key(message: InboundMessage) -> str:
    """MsgId when there is one, else the sender + CreateTime + event (kf events: their sync token)."""
    if isinstance(message, KfMsgOrEventMessage):
        return f"wecom:kf_event:{message.open_kfid}:{message.token}"
    if isinstance(message, TextMessage):
        return f"wecom:msg:{message.msg_id}"
    if isinstance(message, UnsupportedMessage) and message.msg_id:
        return f"wecom:msg:{message.msg_id}"
    event = message.event if isinstance(message, EventMessage) else message.msg_type
    return f"wecom:event:{message.from_user_name}:{message.create_time}:{event}"


def _received_at(unix_seconds: int) -> datetime:
    return datetime.fromtimestamp(unix_seconds, UTC)


CALLBACK_ITEM = "callback"
KF_ITEM = "kf"


class CallbackProcessor:
    """Handles verified, deduplicated messages; `inbox` keeps each one until it is handled."""

    def __init__(self, deps: WeComDeps) -> None:
        self.deps = deps
        self.inbox = InboxWorker(
            deps.inbox, self.handle_item, deps.inbox_retry, retention=deps.inbox_retention, clock=deps.clock
        )

    async def accept_callback(self, key: str, xml: str) -> int | None:
        """Store a decrypted callback message under its de-duplication key; its id, or None for a duplicate."""
        return await self.inbox.accept(CALLBACK_ITEM, {"xml": xml}, key=key)

    async def handle_item(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Handle one stored item (a callback message or a pulled kf message)."""
        if kind == CALLBACK_ITEM:
            await self.process(parse_message(str(payload["xml"])))
        elif kind == KF_ITEM:
            await self._kf_message(kf_from_payload(payload))
        else:
            raise ValueError(f"unknown inbox item kind {kind!r}")

    async def process(self, message: InboundMessage) -> None:
        if isinstance(message, TextMessage):
            await self._text(message)
        elif isinstance(message, UnsupportedMessage):
            if classify_sender(message.from_user_name) is not IdentityKind.STAFF:
                # message/send reaches corp members only; an external contact cannot be answered this way
                logger.info("wecom %s message %s from an external contact ignored", message.msg_type, message.msg_id)
                return
            logger.info("wecom %s message %s answered with the text-only notice", message.msg_type, message.msg_id)
            await self.deps.outbound.send_text([message.from_user_name], UNSUPPORTED_REPLY)
        elif isinstance(message, KfMsgOrEventMessage):
            await self._kf_event(message)
        else:
            logger.info("wecom event %s from %s ignored", message.event, message.from_user_name)

    async def _text(self, message: TextMessage) -> None:
        if not message.content.strip():
            logger.info("wecom empty text %s ignored", message.msg_id)
            return
        await self.deps.handler.handle_text(
            InboundText(
                wecom_user_id=message.from_user_name,
                text=message.content,
                msg_id=message.msg_id,
                received_at=_received_at(message.create_time),
                kind=classify_sender(message.from_user_name),
                agent_id=message.agent_id,
            )
        )

    async def _kf_event(self, event: KfMsgOrEventMessage) -> None:
        """Pull the new 微信客服 messages page by page from the stored cursor, then handle the clients' ones."""
        if self.deps.open_kfid and event.open_kfid != self.deps.open_kfid:
            logger.info("wecom kf event for another account %s ignored", event.open_kfid)
            return
        cursor_key = kf_cursor_key(self.deps.corp_id, event.open_kfid)
        cursor = await self.deps.inbox.cursor(cursor_key)
        accepted: list[tuple[int, dict[str, Any]]] = []
        try:
            for _ in range(KF_SYNC_MAX_PAGES):
                page = await self.deps.outbound.sync_kf_page(event.token, event.open_kfid, cursor)
                cursor = page.next_cursor or cursor
                accepted += await self._store_page(page, cursor_key, cursor)
                if not page.has_more:
                    break
        finally:  # what was stored is handled now, even if a later page failed
            for item_id, payload in accepted:
                await self.inbox.attempt(item_id, KF_ITEM, payload)

    async def _store_page(
        self, page: KfSyncPage, cursor_key: str, cursor: str | None
    ) -> list[tuple[int, dict[str, Any]]]:
        """The page's client messages not stored before, and the cursor after them, stored in one transaction."""
        items = [
            (f"wecom:kf:{message.msg_id}", kf_payload(message))
            for message in page.messages
            if message.origin == KF_ORIGIN_CLIENT
        ]
        expires_at = self.deps.clock.now() + timedelta(seconds=KF_CURSOR_TTL_SECONDS)
        update = CursorUpdate(cursor_key, cursor, expires_at) if cursor else None
        ids = await self.inbox.accept_pulled(KF_ITEM, items, update)
        return [(item_id, payload) for item_id, (_, payload) in zip(ids, items, strict=True) if item_id is not None]

    async def _kf_message(self, message: KfMessage) -> None:
        if message.msg_type == "text" and message.text and message.text.strip():
            await self.deps.handler.handle_text(
                InboundText(
                    wecom_user_id=message.external_userid,
                    text=message.text,
                    msg_id=message.msg_id,
                    received_at=_received_at(message.send_time),
                    kind=IdentityKind.KF,
                    open_kfid=message.open_kfid,
                )
            )
        elif message.msg_type == "event":
            logger.info("wecom kf event message %s ignored", message.msg_id)
        else:
            logger.info("wecom kf %s message %s answered with the text-only notice", message.msg_type, message.msg_id)
            await self.deps.outbound.send_kf_text(message.external_userid, message.open_kfid, UNSUPPORTED_REPLY)
