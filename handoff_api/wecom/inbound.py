"""WeCom as a client channel: inbound texts enter the conversation flow like widget messages.

Each WeCom identity (a 微信客服 user, an external contact, or a corp member writing to the app)
is mapped to exactly one client id: the directory's client bound to that WeCom id, or else a
guest client ``guest-<hash>`` (named 访客, tier standard, not VIP, in the configured guest branch,
with that branch's duty manager as responder). Staff members (recognised by their wecom_user_id)
are handed to the staff reply handler instead.

The link between a conversation and the WeCom identity it talks through is kept in SQL
(handoff_api.wecom.store.ConversationLinks), so replies find their way back after a restart and
from any worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from handoff_api.bot_client import BotUnavailable
from handoff_api.flow import FlowResult
from handoff_api.wecom.client_text import (
    ALREADY_RATED,
    FEEDBACK_RESOLVED,
    RATING_HINT,
    RATING_PROMPT,
    RATING_THANKS,
    asks_for_rating,
    is_number_reply,
    last_suggestions,
    rating_score,
    translate_client_text,
)
from handoff_api.wecom.identity import (
    ClientSender,
    ConversationLink,
    IdentityKind,
    InboundText,
    NoRouteError,
    WeComIdentity,
    send_to_identity,
)
from handoff_api.wecom.store import ConversationLinks
from routing.errors import AlreadyRated, RoutingError, ValidationFailed
from routing.memory import SystemClock
from routing.models import (
    Channel,
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    Message,
    QueueName,
    Role,
    Staff,
)
from routing.ports import Clock

logger = logging.getLogger(__name__)

GUEST_NAME = "访客"
GUEST_TIER = "standard"
GUEST_ID_PREFIX = "guest-"
CHANNEL_ACTOR = "wecom"

TOO_LONG_NOTICE = "您的消息过长，请精简后重新发送。"
UNAVAILABLE_NOTICE = "抱歉，系统暂时无法处理您的消息，请稍后再试。"
GUEST_REFUSED_NOTICE = "抱歉，暂时无法受理您的咨询，请稍后再试或联系您的客户经理。"

OPEN_STATES = frozenset(set(ConversationState) - {ConversationState.CLOSED})


def guest_client_id(wecom_user_id: str) -> str:
    """The stable client id of an unknown WeCom user: guest-<16 hex of sha256(wecom id)>."""
    return GUEST_ID_PREFIX + hashlib.sha256(wecom_user_id.encode("utf-8")).hexdigest()[:16]


class ChannelRecord(Protocol):
    """The directory and transcript reads the channel needs (routing.records.Record has them)."""

    async def get_client(self, client_id: str) -> Client | None: ...

    async def get_client_by_wecom(self, wecom_id: str) -> Client | None: ...

    async def list_staff(self, role: Role | None = None) -> list[Staff]: ...

    async def duty_manager(self, branch: str) -> Staff | None: ...

    async def replace_clients(self, clients: Sequence[Client]) -> None: ...

    async def list_messages(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]: ...

    async def audit(self, actor: str, action: str, subject: str, detail: dict[str, object], at: datetime) -> None: ...


class ChannelRouting(Protocol):
    """The routing use cases the channel calls."""

    async def start_conversation(self, client_id: str, channel: Channel) -> Conversation: ...

    async def get_conversation(self, conversation_id: str, viewer_id: str | None = None) -> Conversation: ...

    async def escalate_from_bot(
        self, conversation_id: str, reason: EscalationReason, queue_hint: QueueName | None, question: str
    ) -> Conversation: ...

    async def rating_due(self, conversation_id: str) -> bool: ...

    async def rate(self, conversation_id: str, score: int, channel: Channel | None = None) -> object: ...


class ClientFlow(Protocol):
    """handoff_api.flow.ConversationFlow."""

    def check_text(self, text: str) -> str: ...

    async def client_message(self, conversation_id: str, text: str) -> FlowResult: ...


class StaffMessages(Protocol):
    """Handles a text a staff member wrote to the WeCom app (e.g. '#REF 回复内容')."""

    async def handle(self, staff: Staff, message: InboundText) -> None: ...


async def find_staff_by_wecom(record: ChannelRecord, wecom_user_id: str) -> Staff | None:
    """The staff member whose wecom_user_id this is (directories are small: one listing)."""
    return next((member for member in await record.list_staff() if member.wecom_user_id == wecom_user_id), None)


class WeComClientChannel:
    """The InboundHandler the callback router calls: one WeCom text in, one flow turn."""

    def __init__(
        self,
        *,
        record: ChannelRecord,
        routing: ChannelRouting,
        flow: ClientFlow,
        links: ConversationLinks,
        sender: ClientSender,
        staff_messages: StaffMessages,
        guest_branch: str = "",
        default_open_kfid: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._record = record
        self._routing = routing
        self._flow = flow
        self._links = links
        self._sender = sender
        self._staff_messages = staff_messages
        self._guest_branch = guest_branch
        self._default_open_kfid = default_open_kfid or None
        self._clock = clock or SystemClock()
        self._locks: dict[str, asyncio.Lock] = {}

    async def handle_text(self, message: InboundText) -> None:
        """Staff texts go to the staff handler; client texts (one identity at a time) to the flow."""
        if message.kind is not IdentityKind.KF:
            staff = await find_staff_by_wecom(self._record, message.wecom_user_id)
            if staff is not None:
                await self._staff_messages.handle(staff, message)
                return
        lock = self._locks.setdefault(message.wecom_user_id, asyncio.Lock())
        try:
            async with lock:
                await self._client_text(message)
        finally:
            if not lock.locked() and self._locks.get(message.wecom_user_id) is lock:
                del self._locks[message.wecom_user_id]

    async def _client_text(self, message: InboundText) -> None:
        try:
            self._flow.check_text(message.text)
        except ValidationFailed as exc:
            logger.info("wecom: message %s of %s refused: %s", message.msg_id, message.wecom_user_id, exc)
            await self._notify(message, TOO_LONG_NOTICE)
            return
        client = await self.client_for(message.wecom_user_id)
        if client is None:
            await self._notify(message, GUEST_REFUSED_NOTICE)
            return
        conversation = await self.open_conversation(client, message)
        text = await self._translated(conversation, message.text)
        if text == message.text.strip() and await self._rated(conversation, message):
            return
        try:
            result = await self._flow.client_message(conversation.id, text)
        except BotUnavailable as exc:
            logger.warning("wecom: robot advisor unavailable for %s (%s); escalating", conversation.id, exc)
            await self._escalate_without_bot(conversation.id, message)
            return
        if text != FEEDBACK_RESOLVED or any(asks_for_rating(reply) for reply in result.replies):
            return  # the bot's thanks carry the prompt (handoff_api.wecom.replies)
        if await self._routing.rating_due(conversation.id):
            await self._notify(message, RATING_PROMPT)

    async def _rated(self, conversation: Conversation, message: InboundText) -> bool:
        """A bare number while a rating is due is the rating (1–5), or earns a hint; True if it was taken so."""
        score = rating_score(message.text)
        if score is None or not await self._routing.rating_due(conversation.id):
            return False
        if not 1 <= score <= 5:
            await self._notify(message, RATING_HINT)
            return True
        try:
            await self._routing.rate(conversation.id, score, Channel.WECOM)
        except AlreadyRated:
            await self._notify(message, ALREADY_RATED)
            return True
        await self._notify(message, RATING_THANKS)
        return True

    async def client_for(self, wecom_user_id: str) -> Client | None:
        """The directory's client for this WeCom id, or the (created once) guest client; None if impossible."""
        known = await self._record.get_client_by_wecom(wecom_user_id)
        if known is not None:
            return known
        guest_id = guest_client_id(wecom_user_id)
        existing = await self._record.get_client(guest_id)
        if existing is not None:
            return existing
        manager = await self._guest_manager()
        if manager is None:
            logger.error(
                "wecom: no duty manager for guests (branch %r); guest %s refused", self._guest_branch, guest_id
            )
            return None
        guest = Client(
            id=guest_id,
            name=GUEST_NAME,
            tier=GUEST_TIER,
            vip=False,
            branch=manager.branch,
            responder_id=manager.id,
        )
        await self._record.replace_clients([guest])
        await self._record.audit(
            CHANNEL_ACTOR,
            "client.guest_created",
            guest_id,
            {"branch": guest.branch, "responder_id": guest.responder_id},
            self._clock.now(),
        )
        logger.info("wecom: unknown user served as guest %s (branch %s)", guest_id, guest.branch)
        return guest

    async def _guest_manager(self) -> Staff | None:
        if self._guest_branch:
            return await self._record.duty_manager(self._guest_branch)
        managers = await self._record.list_staff(Role.DUTY_MANAGER)
        return managers[0] if managers else None

    async def open_conversation(self, client: Client, message: InboundText) -> Conversation:
        """The identity's most recent conversation that is not closed, or a new WeCom conversation."""
        now = self._clock.now()
        for link in await self._links.for_user(message.wecom_user_id, client.id):
            conversation = await self._routing.get_conversation(link.conversation_id)
            if conversation.state in OPEN_STATES:
                if (link.kind, link.open_kfid) != (message.kind, message.open_kfid):
                    await self._links.touch(link.conversation_id, message.kind, message.open_kfid, now)
                return conversation
            break  # the newest one is closed: start afresh
        conversation = await self._routing.start_conversation(client.id, Channel.WECOM)
        await self._links.add(
            ConversationLink(
                conversation_id=conversation.id,
                wecom_user_id=message.wecom_user_id,
                client_id=client.id,
                kind=message.kind,
                open_kfid=message.open_kfid,
                created_at=now,
            )
        )
        return conversation

    async def _translated(self, conversation: Conversation, text: str) -> str:
        suggestions: list[str] = []
        if is_number_reply(text) and conversation.state == ConversationState.BOT:
            suggestions = last_suggestions(await self._record.list_messages(conversation.id, limit=10_000))
        return translate_client_text(text, suggestions)

    async def _escalate_without_bot(self, conversation_id: str, message: InboundText) -> None:
        try:
            await self._routing.escalate_from_bot(
                conversation_id, EscalationReason.KB_UNAVAILABLE, None, message.text.strip()
            )
        except RoutingError as exc:
            logger.error("wecom: could not escalate %s without the bot: %s", conversation_id, exc)
            await self._notify(message, UNAVAILABLE_NOTICE)

    async def _notify(self, message: InboundText, text: str) -> None:
        """A direct notice that is not part of the transcript (refusals, limits)."""
        try:
            await send_to_identity(
                self._sender, WeComIdentity.of(message), text, default_open_kfid=self._default_open_kfid
            )
        except NoRouteError as exc:
            logger.error("wecom: notice not sent: %s", exc)
