"""The real services a WeCom channel runs against, for the channel's tests.

SQLite record migrated to head with the demo directory, RoutingService on memory ports, the
conversation flow with a scripted bot; only the WeCom sender is a recording double.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.bot_client import BotPayload
from handoff_api.classifier import FixedQueueClassifier
from handoff_api.flow import ConversationFlow
from handoff_api.wecom.client import SendResult, SendStatus
from handoff_api.wecom.identity import IdentityKind, InboundText
from handoff_api.wecom.inbound import WeComClientChannel
from handoff_api.wecom.store import ConversationLinks
from routing.directory_import import seed_demo
from routing.events import RoutingEvent
from routing.memory import MemoryEventBus, MemoryIdempotencyStore, MemoryPresenceStore, MemoryQueueStore, SystemClock
from routing.models import Message, Staff
from routing.ports import Clock, Subscription
from routing.service import RoutingService
from routing.settings import RoutingSettings
from routing.sql_record import SqlRecord, create_engine_for, migrate_async
from tests.handoff_api.conftest import ScriptedBot
from tests.handoff_api.wecom.doubles import RecordingOutbound

KF_ACCOUNT = "wkKF-branch"
KNOWN_CLIENT_WECOM = "wm_demo_c10001"  # C10001 陈晓明 in the demo directory
SUGGESTED = ["融资融券开户条件是什么？", "两融账户的利率是多少？", "两融可以买哪些股票？"]


class SuggestingBot(ScriptedBot):
    """The conftest bot, plus "did you mean" suggestions for 两融 questions and 转人工."""

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        if text == "/ask_human":
            self.calls.append((conversation_id, text))
            return [
                {
                    "type": "escalate",
                    "text": "好的，正在为您转接人工服务。",
                    "reason": "asked_human",
                    "queue_hint": None,
                    "question": "",
                    "faq_id": None,
                    "score": None,
                }
            ]
        if "两融" in text and text not in SUGGESTED:
            self.calls.append((conversation_id, text))
            return [
                {
                    "type": "suggestions",
                    "text": "您是不是想问：",
                    "band": "suggest",
                    "score": 0.8,
                    "suggestions": [{"faq_id": f"f{i}", "question": q, "score": 0.8} for i, q in enumerate(SUGGESTED)],
                    "buttons": [{"title": "转人工", "payload": "/ask_human"}],
                }
            ]
        return await super().send(conversation_id, text)


@dataclass
class RecordingSender(RecordingOutbound):
    """Records every WeCom send (client texts, staff texts, textcards) and reports it sent."""

    cards: list[tuple[tuple[str, ...], str, str, str]] = field(default_factory=list)

    async def send_textcard(
        self, user_ids: Sequence[str], title: str, description: str, url: str, button_text: str = "详情"
    ) -> SendResult:
        self.cards.append((tuple(user_ids), title, description, url))
        return SendResult(SendStatus.SENT, 1)


@dataclass
class RecordingStaffMessages:
    handled: list[tuple[Staff, InboundText]] = field(default_factory=list)

    async def handle(self, staff: Staff, message: InboundText) -> None:
        self.handled.append((staff, message))


@dataclass
class Stack:
    """The real services a WeCom channel runs against."""

    engine: AsyncEngine
    record: SqlRecord
    routing: RoutingService
    flow: ConversationFlow
    bot: SuggestingBot
    events: MemoryEventBus
    idempotency: MemoryIdempotencyStore
    links: ConversationLinks
    sender: RecordingSender


async def build_stack(tmp_path: Path, clock: Clock | None = None, settings: RoutingSettings | None = None) -> Stack:
    """Migrated SQLite record with the demo directory, routing on memory ports, flow with a scripted bot."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}"
    await migrate_async(url)
    engine = create_engine_for(url)
    record = SqlRecord(engine)
    await seed_demo(record)
    clock = clock or SystemClock()
    events = MemoryEventBus()
    idempotency = MemoryIdempotencyStore(clock)
    routing = RoutingService(
        record,
        MemoryQueueStore(clock),
        MemoryPresenceStore(clock),
        events,
        idempotency,
        clock,
        FixedQueueClassifier(),
        settings or RoutingSettings(always_open=True),
    )
    bot = SuggestingBot()
    links = ConversationLinks(engine)
    return Stack(
        engine, record, routing, ConversationFlow(routing, bot, 200), bot, events, idempotency, links, RecordingSender()
    )


async def drain(subscription: Subscription) -> list[RoutingEvent]:
    """Every event published so far."""
    events = []
    while (event := await subscription.next_event(0.01)) is not None:
        events.append(event)
    return events


_counter = iter(range(1, 1_000_000))


def inbound(text: str, user: str = KNOWN_CLIENT_WECOM, kind: IdentityKind = IdentityKind.KF) -> InboundText:
    return InboundText(
        wecom_user_id=user,
        text=text,
        msg_id=f"msg-{next(_counter)}",
        received_at=datetime.now(UTC),
        kind=kind,
        open_kfid=KF_ACCOUNT if kind is IdentityKind.KF else None,
    )


def make_channel(
    stack: Stack, staff: RecordingStaffMessages | None = None, guest_branch: str = "", clock: Clock | None = None
) -> WeComClientChannel:
    return WeComClientChannel(
        record=stack.record,
        routing=stack.routing,
        flow=stack.flow,
        links=stack.links,
        sender=stack.sender,
        staff_messages=staff or RecordingStaffMessages(),
        guest_branch=guest_branch,
        clock=clock,
    )


async def transcript(stack: Stack, conversation_id: str) -> list[Message]:
    return await stack.record.list_messages(conversation_id)
