"""WeCom as a client channel: inbound texts enter the conversation flow like widget messages.

Each WeCom identity (a 微信客服 user, an external contact, or a corp member writing to the app)
is mapped to exactly one client id: the directory's client bound to that WeCom id, or else a
guest client ``guest-<hash>`` (named 访客, tier standard, not VIP, in the configured guest branch,
with that branch's duty manager as responder). Staff members (recognised by their wecom_user_id)
are handed to the staff reply handler instead.

The link between a conversation and the WeCom identity it talks through (who, which kind, which
微信客服 account) is kept in SQL (table ``wecom_conversations``), so replies find their way back
after a restart and from any worker; the 微信客服 sync cursor is kept in SQL too (``wecom_state``),
so a restart does not pull (and answer) old messages again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.bot_client import BotUnavailable
from handoff_api.flow import FlowResult
from handoff_api.wecom.client import SendResult
from handoff_api.wecom.router import InboundText, SenderKind
from handoff_api.wecom.token_cache import TokenCache
from routing.errors import RoutingError, ValidationFailed
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
from routing.models import SenderKind as MessageSender
from routing.redis_keys import WECOM_KF_CURSOR as KF_CURSOR_KEY_TEMPLATE
from routing.sql_tables import UtcDateTime

logger = logging.getLogger(__name__)

GUEST_NAME = "访客"
GUEST_TIER = "standard"
GUEST_ID_PREFIX = "guest-"
CHANNEL_ACTOR = "wecom"

FEEDBACK_RESOLVED = "/feedback_resolved"
FEEDBACK_UNRESOLVED = "/feedback_unresolved"
ASK_HUMAN = "/ask_human"
_WORD_PAYLOADS = {
    "解决了": FEEDBACK_RESOLVED,
    "已解决": FEEDBACK_RESOLVED,
    "问题已解答": FEEDBACK_RESOLVED,
    "已解答": FEEDBACK_RESOLVED,
    "没解决": FEEDBACK_UNRESOLVED,
    "未解决": FEEDBACK_UNRESOLVED,
    "没有解决": FEEDBACK_UNRESOLVED,
    "问题未解答": FEEDBACK_UNRESOLVED,
    "未解答": FEEDBACK_UNRESOLVED,
    "转人工": ASK_HUMAN,
    "人工": ASK_HUMAN,
    "人工服务": ASK_HUMAN,
}
_TRIM = re.compile(r"^[\s\"'“”‘’「」【】]+|[\s\"'“”‘’「」【】。！!？?.,，~～]+$")

TOO_LONG_NOTICE = "您的消息过长，请精简后重新发送。"
UNAVAILABLE_NOTICE = "抱歉，系统暂时无法处理您的消息，请稍后再试。"
GUEST_REFUSED_NOTICE = "抱歉，暂时无法受理您的咨询，请稍后再试或联系您的客户经理。"

KF_CURSOR_KEY_PREFIX = KF_CURSOR_KEY_TEMPLATE.split("{", 1)[0]
OPEN_STATES = frozenset(set(ConversationState) - {ConversationState.CLOSED})


# --------------------------------------------------------------------------- conversation links

wecom_channel_metadata = MetaData()

wecom_conversations = Table(
    "wecom_conversations",
    wecom_channel_metadata,
    Column("conversation_id", String(64), primary_key=True),
    Column("wecom_user_id", String(128), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("open_kfid", String(128), nullable=True),
    Column("relayed_seq", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_wecom_conversations_user_created", "wecom_user_id", "created_at"),
)


@dataclass(frozen=True, slots=True)
class ConversationLink:
    """A conversation held through WeCom: who the client is there and how to reach them."""

    conversation_id: str
    wecom_user_id: str
    client_id: str
    kind: SenderKind
    open_kfid: str | None
    created_at: datetime
    relayed_seq: int = 0

    @property
    def identity(self) -> WeComIdentity:
        """Whom replies of this conversation go to."""
        return WeComIdentity(self.wecom_user_id, self.kind, self.open_kfid)


def _link(row: Any) -> ConversationLink:
    return ConversationLink(
        conversation_id=row.conversation_id,
        wecom_user_id=row.wecom_user_id,
        client_id=row.client_id,
        kind=row.kind,
        open_kfid=row.open_kfid,
        created_at=row.created_at,
        relayed_seq=row.relayed_seq,
    )


class ConversationLinks:
    """SQL store of conversation links (SQLite or PostgreSQL), table wecom_conversations."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ensure_table(self) -> None:
        """Create the channel's tables if missing (until the migration that creates them is in place)."""
        async with self._engine.begin() as connection:
            await connection.run_sync(wecom_channel_metadata.create_all, checkfirst=True)

    async def get(self, conversation_id: str) -> ConversationLink | None:
        """The link of one conversation, or None if it did not start in WeCom."""
        statement = select(wecom_conversations).where(wecom_conversations.c.conversation_id == conversation_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        return _link(row) if row is not None else None

    async def for_user(self, wecom_user_id: str, client_id: str, limit: int = 20) -> list[ConversationLink]:
        """The identity's conversations as this client, newest first."""
        table = wecom_conversations
        statement = (
            select(table)
            .where(table.c.wecom_user_id == wecom_user_id, table.c.client_id == client_id)
            .order_by(table.c.created_at.desc())
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [_link(row) for row in await connection.execute(statement)]

    async def recent(self, since: datetime) -> list[ConversationLink]:
        """Links touched since the given instant (for catching up on replies after a restart)."""
        statement = select(wecom_conversations).where(wecom_conversations.c.updated_at >= since)
        async with self._engine.connect() as connection:
            return [_link(row) for row in await connection.execute(statement)]

    async def add(self, link: ConversationLink) -> None:
        """Store a new link."""
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(wecom_conversations).values(
                    conversation_id=link.conversation_id,
                    wecom_user_id=link.wecom_user_id,
                    client_id=link.client_id,
                    kind=link.kind,
                    open_kfid=link.open_kfid,
                    relayed_seq=link.relayed_seq,
                    created_at=link.created_at,
                    updated_at=link.created_at,
                )
            )

    async def touch(self, conversation_id: str, kind: SenderKind, open_kfid: str | None, at: datetime) -> None:
        """Remember the route the client used last (a 微信客服 account may change)."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(wecom_conversations)
                .where(wecom_conversations.c.conversation_id == conversation_id)
                .values(kind=kind, open_kfid=open_kfid, updated_at=at)
            )

    async def advance(self, conversation_id: str, seq: int) -> None:
        """Record that messages up to seq were handed to WeCom (never moves backwards)."""
        table = wecom_conversations
        async with self._engine.begin() as connection:
            await connection.execute(
                update(table)
                .where(table.c.conversation_id == conversation_id, table.c.relayed_seq < seq)
                .values(relayed_seq=seq)
            )


# --------------------------------------------------------------------------- durable small values

wecom_state = Table(
    "wecom_state",
    wecom_channel_metadata,
    Column("key", String(255), primary_key=True),
    Column("value", String(1024), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)


class SqlStateCache:
    """TokenCache in SQL: the 微信客服 sync cursor must survive restarts, or old messages come back."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, key: str) -> str | None:
        """The value if present and not expired."""
        statement = select(wecom_state.c.value, wecom_state.c.expires_at).where(wecom_state.c.key == key)
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        if row is None or row.expires_at <= datetime.now(UTC):
            return None
        return str(row.value)

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        """Insert or overwrite the value with a new expiry."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        expires_at = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
        async with self._engine.begin() as connection:
            updated = await connection.execute(
                update(wecom_state).where(wecom_state.c.key == key).values(value=value, expires_at=expires_at)
            )
            if updated.rowcount == 0:
                await connection.execute(insert(wecom_state).values(key=key, value=value, expires_at=expires_at))


class SplitTokenCache:
    """Access tokens in the fast shared cache; 微信客服 sync cursors in the durable one."""

    def __init__(self, tokens: TokenCache, cursors: TokenCache) -> None:
        self._tokens = tokens
        self._cursors = cursors

    def _for(self, key: str) -> TokenCache:
        return self._cursors if key.startswith(KF_CURSOR_KEY_PREFIX) else self._tokens

    async def get(self, key: str) -> str | None:
        """From the cache that holds this kind of key."""
        return await self._for(key).get(key)

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        """Into the cache that holds this kind of key."""
        await self._for(key).set(key, value, ttl_seconds)


# --------------------------------------------------------------------------- sending to a WeCom identity


class ClientSender(Protocol):
    """The part of WeComClient that reaches clients and staff."""

    async def send_text(self, user_ids: Sequence[str], content: str) -> SendResult: ...

    async def send_kf_text(self, external_userid: str, open_kfid: str, content: str) -> SendResult: ...


class NoRouteError(RuntimeError):
    """A WeCom identity cannot be reached (an external contact without a 微信客服 account configured)."""


@dataclass(frozen=True, slots=True)
class WeComIdentity:
    """Whom to send to in WeCom: the user id, how they wrote in, and their 微信客服 account if any."""

    user_id: str
    kind: SenderKind
    open_kfid: str | None = None

    @classmethod
    def of(cls, message: InboundText) -> WeComIdentity:
        """The identity an inbound text came from."""
        return cls(message.wecom_user_id, message.kind, message.open_kfid)


async def send_to_identity(
    sender: ClientSender, identity: WeComIdentity, text: str, *, default_open_kfid: str | None = None
) -> SendResult:
    """Customer-service send (kf/send_msg) for 微信客服 users and external contacts; message/send for corp members."""
    kind = identity.kind
    if kind == "kf" or (kind == "external_contact" and default_open_kfid):
        account = identity.open_kfid or default_open_kfid
        if not account:
            raise NoRouteError(f"no 微信客服 account to reach {kind} user {identity.user_id}")
        return await sender.send_kf_text(identity.user_id, account, text)
    if kind == "external_contact":
        raise NoRouteError(f"external contact {identity.user_id} needs WECOM_OPEN_KFID to be reached")
    return await sender.send_text([identity.user_id], text)


# --------------------------------------------------------------------------- client text translation


def guest_client_id(wecom_user_id: str) -> str:
    """The stable client id of an unknown WeCom user: guest-<16 hex of sha256(wecom id)>."""
    return GUEST_ID_PREFIX + hashlib.sha256(wecom_user_id.encode("utf-8")).hexdigest()[:16]


def last_suggestions(messages: Sequence[Message]) -> list[str]:
    """The questions of the bot's latest suggestion list, if nothing but system notes followed it."""
    for message in reversed(messages):
        if message.sender == MessageSender.SYSTEM:
            continue
        if message.sender != MessageSender.BOT or message.payload.get("type") != "suggestions":
            return []
        items = message.payload.get("suggestions")
        if not isinstance(items, list):
            return []
        return [str(item["question"]) for item in items if isinstance(item, dict) and item.get("question")]
    return []


def translate_client_text(text: str, suggestions: Sequence[str] = ()) -> str:
    """WeCom has no buttons: 解决了/没解决/转人工 become the button payloads, a number picks a suggestion."""
    stripped = text.strip()
    word = _TRIM.sub("", stripped)
    if word in _WORD_PAYLOADS:
        return _WORD_PAYLOADS[word]
    if word.isdigit() and suggestions:
        index = int(word)
        if 1 <= index <= len(suggestions):
            return suggestions[index - 1]
    return stripped


# --------------------------------------------------------------------------- the inbound handler


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
    ) -> None:
        self._record = record
        self._routing = routing
        self._flow = flow
        self._links = links
        self._sender = sender
        self._staff_messages = staff_messages
        self._guest_branch = guest_branch
        self._default_open_kfid = default_open_kfid or None
        self._locks: dict[str, asyncio.Lock] = {}

    async def handle_text(self, message: InboundText) -> None:
        """Staff texts go to the staff handler; client texts (one identity at a time) to the flow."""
        if message.kind != "kf":
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
        try:
            await self._flow.client_message(conversation.id, text)
        except BotUnavailable as exc:
            logger.warning("wecom: robot advisor unavailable for %s (%s); escalating", conversation.id, exc)
            await self._escalate_without_bot(conversation.id, message)

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
            datetime.now(UTC),
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
        now = datetime.now(UTC)
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
        if _TRIM.sub("", text.strip()).isdigit() and conversation.state == ConversationState.BOT:
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
