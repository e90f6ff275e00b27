"""Outbound replies to clients who talk through WeCom.

Every new message (a MessageAdded event) of a WeCom conversation that the client did not write (bot answers, agent
and responder replies, system notices) is rendered as plain text (WeCom clients cannot click
buttons) and sent through WeCom exactly once: the first worker to claim
``wecom:out:{conversation_id}:{seq}`` sends it. The client splits long texts and keeps what
cannot be sent in the outbox; the link's relayed_seq lets a restarted worker catch up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from handoff_api.wecom.client import SendStatus
from handoff_api.wecom.client_text import RATING_PROMPT
from handoff_api.wecom.identity import ClientSender, IdentityKind, NoRouteError, WeComIdentity, send_to_identity
from handoff_api.wecom.store import ConversationLinks
from routing.events import MessageAdded
from routing.models import Channel, Client, Conversation, Message, Staff
from routing.models import SenderKind as MessageSender
from routing.ports import IdempotencyStore

logger = logging.getLogger(__name__)

FEEDBACK_HINT = "回复“解决了”或“没解决”告诉我们结果。"
SUGGESTIONS_HINT = "回复序号即可查看对应问题的解答；如需人工服务，请回复“转人工”。"
DEFAULT_SUGGESTIONS_TITLE = "您是不是想问："
OUTBOUND_KEY = "wecom:out:{conversation_id}:{seq}"
_CHANNEL_CACHE_LIMIT = 10_000


def render_for_wecom(
    sender: str, text: str, payload: Mapping[str, object], staff_name: str | None = None
) -> str | None:
    """The plain text a WeCom client gets for one message, or None if there is nothing to send."""
    kind = payload.get("type")
    body = text.strip()
    if sender == MessageSender.BOT and kind == "suggestions":
        return _suggestions(body, payload.get("suggestions"))
    if not body:
        return None
    if sender == MessageSender.BOT and kind == "answer":
        return f"{body}\n\n{FEEDBACK_HINT}"
    if sender == MessageSender.BOT and kind == "feedback" and payload.get("resolved") is True:
        return f"{body}\n\n{RATING_PROMPT}"
    if sender == MessageSender.SYSTEM and kind == "feedback_request":
        return f"{body}\n{FEEDBACK_HINT}"
    if sender in {MessageSender.AGENT, MessageSender.RESPONDER} and staff_name:
        return f"【{staff_name}】{body}"
    return body


def _suggestions(title: str, items: object) -> str | None:
    questions = (
        [str(item["question"]) for item in items if isinstance(item, Mapping) and item.get("question")]
        if isinstance(items, Sequence) and not isinstance(items, str)
        else []
    )
    if not questions:
        return title or None
    lines = [title or DEFAULT_SUGGESTIONS_TITLE]
    lines += [f"{number}. {question}" for number, question in enumerate(questions, start=1)]
    return "\n".join([*lines, "", SUGGESTIONS_HINT])


class RelayRecord(Protocol):
    """The reads the relay needs (routing.records.Record has them)."""

    async def get_conversation(self, conversation_id: str) -> Conversation | None: ...

    async def get_client(self, client_id: str) -> Client | None: ...

    async def get_staff(self, staff_id: str) -> Staff | None: ...

    async def list_messages(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]: ...


class ReplyRelay:
    """Sends the non-client messages of WeCom conversations to the client through WeCom, once each."""

    def __init__(
        self,
        *,
        record: RelayRecord,
        links: ConversationLinks,
        sender: ClientSender,
        idempotency: IdempotencyStore,
        default_open_kfid: str | None = None,
        claim_ttl_seconds: int = 24 * 3600,
    ) -> None:
        self._record = record
        self._links = links
        self._sender = sender
        self._idempotency = idempotency
        self._default_open_kfid = default_open_kfid or None
        self._claim_ttl = claim_ttl_seconds
        self._is_wecom: dict[str, bool] = {}

    async def handle(self, event: MessageAdded) -> bool:
        """Relay one new message if it is for a WeCom client; True if it was sent or queued."""
        if event.sender == MessageSender.CLIENT:
            return False
        return await self.relay(
            event.conversation_id, event.seq, event.sender, event.text, event.payload, event.staff_id
        )

    async def relay(  # noqa: PLR0917 - one message's fields
        self,
        conversation_id: str,
        seq: int,
        sender: str,
        text: str,
        payload: Mapping[str, object],
        staff_id: str | None,
    ) -> bool:
        """Render and send one message unless another worker already did."""
        if sender == MessageSender.CLIENT or not await self._wecom_conversation(conversation_id):
            return False
        staff = await self._record.get_staff(staff_id) if staff_id else None
        rendered = render_for_wecom(sender, text, payload, staff.name if staff else None)
        if rendered is None:
            return False
        identity = await self._identity(conversation_id)
        if identity is None:
            logger.error(
                "wecom relay: conversation %s has no WeCom identity; message %d not sent", conversation_id, seq
            )
            return False
        key = OUTBOUND_KEY.format(conversation_id=conversation_id, seq=seq)
        if not await self._idempotency.claim(key, self._claim_ttl):
            return False
        try:
            result = await send_to_identity(self._sender, identity, rendered, default_open_kfid=self._default_open_kfid)
        except (NoRouteError, ValueError) as exc:
            logger.error("wecom relay: message %s:%d cannot be sent: %s", conversation_id, seq, exc)
            return False
        if result.status is SendStatus.FAILED:
            logger.error("wecom relay: message %s:%d refused by WeCom; kept in the outbox", conversation_id, seq)
        elif result.status is SendStatus.QUEUED:
            logger.warning("wecom relay: message %s:%d queued in the outbox for retry", conversation_id, seq)
        await self._links.advance(conversation_id, seq)
        return True

    async def catch_up(self, since: datetime) -> int:
        """After a restart: relay what recent WeCom conversations said while nobody listened."""
        relayed = 0
        for link in await self._links.recent(since):
            for message in await self._record.list_messages(link.conversation_id, after_seq=link.relayed_seq):
                if message.sender == MessageSender.CLIENT or message.created_at < since:
                    continue
                staff_id = message.served_by.staff_id if message.served_by else None
                if await self.relay(
                    link.conversation_id, message.seq, message.sender, message.text, message.payload, staff_id
                ):
                    relayed += 1
        return relayed

    async def _wecom_conversation(self, conversation_id: str) -> bool:
        known = self._is_wecom.get(conversation_id)
        if known is not None:
            return known
        conversation = await self._record.get_conversation(conversation_id)
        is_wecom = conversation is not None and conversation.channel == Channel.WECOM
        if len(self._is_wecom) >= _CHANNEL_CACHE_LIMIT:
            self._is_wecom.clear()
        self._is_wecom[conversation_id] = is_wecom
        return is_wecom

    async def _identity(self, conversation_id: str) -> WeComIdentity | None:
        """From the conversation's link, else from the client's directory WeCom id."""
        link = await self._links.get(conversation_id)
        if link is not None:
            return link.identity
        conversation = await self._record.get_conversation(conversation_id)
        client = await self._record.get_client(conversation.client_id) if conversation else None
        if client is None or not client.wecom_id:
            return None
        kind = IdentityKind.EXTERNAL_CONTACT if self._default_open_kfid else IdentityKind.STAFF
        return WeComIdentity(client.wecom_id, kind)
