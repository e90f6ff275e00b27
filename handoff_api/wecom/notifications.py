"""Staff notifications in WeCom and staff replies from WeCom.

A tier-3 escalation (an Escalated event) sends the staff member now holding the conversation
(responder, then backup, then duty manager) a textcard: masked client name, the question with its
ID-card, mobile and bank-card numbers masked (the full text is in the console), time limit,
a link to the console and a short reference code. The code is derived from the conversation id
(6 Crockford base-32 characters of its SHA-256), so it needs no storage and survives restarts.

A staff member answers from WeCom with ``#REF 回复内容`` (or ``REF 回复内容``); the text goes to
routing.staff_reply, which refuses anyone who does not hold the conversation.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from handoff_api.masking import mask_name, mask_text
from handoff_api.wecom.client import SendResult
from handoff_api.wecom.identity import InboundText
from handoff_api.wecom.text import truncate_utf8, utf8_len
from routing.errors import Forbidden, IllegalTransition, NotFound, RoutingError, ValidationFailed
from routing.events import Escalated
from routing.memory import SystemClock
from routing.models import (
    Client,
    Conversation,
    ConversationState,
    Message,
    ResponderStep,
    Staff,
    Ticket,
    Tier,
)
from routing.ports import Clock, IdempotencyStore

logger = logging.getLogger(__name__)

REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
REFERENCE_LENGTH = 6
_REFERENCE_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_WITH_HASH = re.compile(r"^\s*[#＃]\s*([0-9A-Za-z]{6})(?![0-9A-Za-z])[\s:：,，]*(.*)$", re.DOTALL)
_WITHOUT_HASH = re.compile(r"^\s*([0-9A-Za-z]{6})[\s:：,，]+(.*)$", re.DOTALL)
REPLYABLE_STATES = frozenset(
    {ConversationState.WITH_AGENT, ConversationState.AWAITING_RESPONDER, ConversationState.WITH_RESPONDER}
)
TEXTCARD_DESCRIPTION_BYTES = 512
NOTIFY_KEY = "wecom:notify:{conversation_id}:{ticket_id}:{staff_id}"

USAGE_REPLY = "如需答复客户，请按“#参考码 回复内容”的格式发送，例如：#7K2M9Q 您好，您的问题已为您核实……"
EMPTY_REPLY = "请在参考码 #{ref} 后写上要发给客户的回复内容。"
UNKNOWN_REFERENCE_REPLY = "未找到参考码 #{ref} 对应的待处理会话（可能已结束或参考码有误），回复未发送。"
NOT_HOLDER_REPLY = "您不是会话 #{ref} 的当前负责人，无法答复该客户，回复未发送。如需协助请联系值班经理。"
NOT_OPEN_REPLY = "会话 #{ref} 当前状态不能答复，回复未发送。请在坐席工作台查看。"
SENT_REPLY = "已将您的回复发送给客户 {client}（#{ref}）。"

_STEP_TITLES = {
    ResponderStep.RESPONDER: "客户问题待您答复（专属响应人）",
    ResponderStep.BACKUP: "客户问题待您答复（备岗接手）",
    ResponderStep.DUTY_MANAGER: "客户问题待您答复（值班经理兜底）",
}


def reference_code(conversation_id: str) -> str:
    """The conversation's short reference: 6 base-32 characters of sha256(id), stable for ever."""
    number = int.from_bytes(hashlib.sha256(conversation_id.encode("utf-8")).digest()[:8], "big")
    characters = []
    for _ in range(REFERENCE_LENGTH):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        characters.append(REFERENCE_ALPHABET[digit])
    return "".join(characters)


def normalise_reference(raw: str) -> str:
    """Upper case, with the look-alikes O→0 and I/L→1 folded as Crockford base 32 does."""
    return raw.upper().translate(_REFERENCE_ALIASES)


def parse_staff_reply(text: str) -> tuple[str, str] | None:
    """(reference, reply text) from '#REF 内容' or 'REF 内容'; None if the text has no reference."""
    match = _WITH_HASH.match(text) or _WITHOUT_HASH.match(text)
    if match is None:
        return None
    return normalise_reference(match.group(1)), match.group(2).strip()


def console_link(console_base_url: str, conversation_id: str) -> str:
    """The console page of one conversation."""
    return f"{console_base_url.rstrip('/')}/console#/conversations/{conversation_id}"


@dataclass(frozen=True, slots=True)
class EscalationCard:
    """The textcard a staff member gets."""

    title: str
    description: str
    url: str
    reference: str


def escalation_card(  # noqa: PLR0917 - the card's ingredients
    conversation: Conversation,
    client: Client | None,
    ticket: Ticket | None,
    deadline: datetime,
    limit_seconds: float,
    console_base_url: str,
    zone: ZoneInfo,
    now: datetime,
) -> EscalationCard:
    """Title, description (≤ 512 bytes, WeCom's textcard markup) and console link for one escalation."""
    reference = reference_code(conversation.id)
    step = ticket.responder_step if ticket and ticket.responder_step is not None else ResponderStep.RESPONDER
    who = "访客（未绑定客户）" if client is None or client.id.startswith("guest-") else mask_name(client.name)
    vip = "（VIP）" if client is not None and client.vip else ""
    minutes = max(round(limit_seconds / 60), 1)
    parts = [
        f'<div class="gray">{now.astimezone(zone):%Y-%m-%d %H:%M}</div>',
        f'<div class="normal">客户：{html.escape(who)}{vip}</div>',
        '<div class="normal">问题：{question}</div>',
        f'<div class="highlight">请于 {deadline.astimezone(zone):%m-%d %H:%M} 前首次答复（时限 {minutes} 分钟）</div>',
        f'<div class="normal">参考码 #{reference}：在此回复“#{reference} 回复内容”即可直接答复客户</div>',
    ]
    skeleton = "".join(parts)
    budget = TEXTCARD_DESCRIPTION_BYTES - utf8_len(skeleton.replace("{question}", ""))
    question = mask_text((ticket.question if ticket else "").strip()) or "（客户未留下问题描述，请查看会话记录）"
    description = skeleton.replace("{question}", truncate_utf8(html.escape(question), max(budget, 8)))
    return EscalationCard(
        title=f"{_STEP_TITLES[step]} #{reference}",
        description=description,
        url=console_link(console_base_url, conversation.id),
        reference=reference,
    )


class StaffSender(Protocol):
    """The part of WeComClient that reaches staff members."""

    async def send_text(self, user_ids: Sequence[str], content: str) -> SendResult: ...

    async def send_textcard(
        self, user_ids: Sequence[str], title: str, description: str, url: str, button_text: str = "详情"
    ) -> SendResult: ...


class NotificationRecord(Protocol):
    """The reads notifications and staff replies need (routing.records.Record has them)."""

    async def get_conversation(self, conversation_id: str) -> Conversation | None: ...

    async def get_client(self, client_id: str) -> Client | None: ...

    async def get_staff(self, staff_id: str) -> Staff | None: ...

    async def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    async def conversations_in_states(self, states: Collection[ConversationState]) -> list[Conversation]: ...


class EscalationNotifier:
    """Sends the tier-3 textcard to whoever now holds the conversation, once per ticket and person."""

    def __init__(
        self,
        *,
        record: NotificationRecord,
        sender: StaffSender,
        idempotency: IdempotencyStore,
        console_base_url: str,
        responder_limit_seconds: float,
        timezone: str = "Asia/Shanghai",
        claim_ttl_seconds: int = 7 * 24 * 3600,
        clock: Clock | None = None,
    ) -> None:
        self._record = record
        self._sender = sender
        self._idempotency = idempotency
        self._console_base_url = console_base_url
        self._limit_seconds = responder_limit_seconds
        self._zone = ZoneInfo(timezone)
        self._claim_ttl = claim_ttl_seconds
        self._clock = clock or SystemClock()

    async def handle(self, event: Escalated) -> EscalationCard | None:
        """Notify for an escalation to tier 3; the card sent, or None if nothing was sent."""
        if event.tier != int(Tier.RESPONDER):
            return None
        conversation_id, staff_id = event.conversation_id, event.staff_id
        staff = await self._record.get_staff(staff_id)
        if staff is None or not staff.wecom_user_id:
            logger.info("wecom: %s has no WeCom id; escalation of %s not notified there", staff_id, conversation_id)
            return None
        conversation = await self._record.get_conversation(conversation_id)
        if conversation is None:
            return None
        ticket = await self._record.get_ticket(conversation.ticket_id) if conversation.ticket_id else None
        key = NOTIFY_KEY.format(
            conversation_id=conversation_id, ticket_id=ticket.id if ticket else "-", staff_id=staff_id
        )
        if not await self._idempotency.claim(key, self._claim_ttl):
            return None
        client = await self._record.get_client(conversation.client_id)
        now = self._clock.now()
        deadline = (
            ticket.responder_deadline
            if ticket and ticket.responder_deadline
            else now + timedelta(seconds=self._limit_seconds)
        )
        card = escalation_card(
            conversation, client, ticket, deadline, self._limit_seconds, self._console_base_url, self._zone, now
        )
        await self._sender.send_textcard([staff.wecom_user_id], card.title, card.description, card.url, "查看会话")
        logger.info("wecom: %s notified of conversation %s (#%s)", staff.id, conversation_id, card.reference)
        return card


class StaffReplyRouting(Protocol):
    """routing.service.RoutingService.staff_reply."""

    async def staff_reply(self, staff_id: str, conversation_id: str, text: str) -> Message: ...


class StaffReplyHandler:
    """Turns '#REF 回复内容' from a staff member's WeCom into routing.staff_reply, or explains the refusal."""

    def __init__(self, *, record: NotificationRecord, routing: StaffReplyRouting, sender: StaffSender) -> None:
        self._record = record
        self._routing = routing
        self._sender = sender

    async def handle(self, staff: Staff, message: InboundText) -> None:
        """Answer the client of the referenced conversation; tell the staff member what happened."""
        parsed = parse_staff_reply(message.text)
        if parsed is None:
            await self._tell(message, USAGE_REPLY)
            return
        reference, text = parsed
        if not text:
            await self._tell(message, EMPTY_REPLY.format(ref=reference))
            return
        conversation = await self._find(reference, staff.id)
        if conversation is None:
            logger.warning("wecom: %s used unknown reference #%s", staff.id, reference)
            await self._tell(message, UNKNOWN_REFERENCE_REPLY.format(ref=reference))
            return
        try:
            await self._routing.staff_reply(staff.id, conversation.id, text)
        except Forbidden as exc:
            logger.warning("wecom: reply of %s to #%s refused: %s", staff.id, reference, exc)
            await self._tell(message, NOT_HOLDER_REPLY.format(ref=reference))
            return
        except (IllegalTransition, NotFound, ValidationFailed) as exc:
            logger.warning("wecom: reply of %s to #%s not possible: %s", staff.id, reference, exc)
            await self._tell(message, NOT_OPEN_REPLY.format(ref=reference))
            return
        except RoutingError as exc:
            logger.error("wecom: reply of %s to #%s failed: %s", staff.id, reference, exc)
            await self._tell(message, NOT_OPEN_REPLY.format(ref=reference))
            return
        client = await self._record.get_client(conversation.client_id)
        shown = mask_name(client.name) if client else conversation.client_id
        logger.info("wecom: %s answered conversation %s from WeCom", staff.id, conversation.id)
        await self._tell(message, SENT_REPLY.format(client=shown, ref=reference))

    async def _find(self, reference: str, staff_id: str) -> Conversation | None:
        """The live conversation with this reference (the staff member's own first, if codes collide)."""
        matches = [
            conversation
            for conversation in await self._record.conversations_in_states(REPLYABLE_STATES)
            if reference_code(conversation.id) == reference
        ]
        mine = [conversation for conversation in matches if conversation.assignee_id == staff_id]
        candidates = mine or matches
        return candidates[0] if candidates else None

    async def _tell(self, message: InboundText, text: str) -> None:
        await self._sender.send_text([message.wecom_user_id], text)
