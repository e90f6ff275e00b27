"""A realistic week of the branch in the record, for the supervisor reports' charts and screenshot.

Written straight into the record with past timestamps (the live service would stamp everything now):
bot conversations (confirmed, assumed), tier-2 tickets of both queues with waits, handle times and
transfers, a few tier-3 hand-overs, and 1–5 ratings after resolutions.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

from routing.models import (
    Channel,
    Conversation,
    ConversationState,
    EscalationReason,
    QueueName,
    Ticket,
    TicketStatus,
    Tier,
    Transition,
)
from routing.records import Record, SatisfactionRating

CLIENTS = [f"C1000{n}" for n in range(1, 10)] + ["C10010"] + [f"C2000{n}" for n in range(1, 10)]
AGENTS = {QueueName.ADVISOR: ["adv01", "adv02"], QueueName.SERVICE: ["svc01", "svc02"]}
CHANNELS = [Channel.WIDGET, Channel.WIDGET, Channel.WECOM]
STARS = [5, 5, 5, 4, 4, 4, 3, 2]


@dataclasses.dataclass
class Seeder:
    """Writes one conversation at a time; `count` names them uniquely."""

    record: Record
    rng: random.Random
    count: int = 0

    async def conversation(self, at: datetime, tier: Tier, **changes: object) -> Conversation:
        self.count += 1
        conversation = Conversation(
            id=f"seed-{self.count:04d}",
            client_id=self.rng.choice(CLIENTS),
            channel=self.rng.choice(CHANNELS),
            state=ConversationState.CLOSED,
            tier=tier,
            created_at=at,
            updated_at=at,
        )
        conversation = dataclasses.replace(conversation, **changes)  # type: ignore[arg-type]
        await self.record.create_conversation(conversation)
        return conversation

    async def rate(self, conversation: Conversation, ticket: Ticket | None, resolved_at: datetime) -> None:
        tier = ticket.tier if ticket else Tier.BOT
        staff = ticket.assigned_to if ticket else None
        await self.record.add_feedback(conversation.id, ticket.id if ticket else None, tier, staff, True, resolved_at)
        if self.rng.random() < 0.7:
            score = self.rng.choice(STARS)
            rating = SatisfactionRating(
                conversation.id,
                score,
                conversation.channel,
                tier,
                staff,
                ticket.id if ticket else None,
                ticket.queue if ticket else None,
                resolved_at,
                resolved_at + timedelta(seconds=20),
            )
            await self.record.add_rating(rating)

    async def bot_day(self, day: datetime) -> None:
        for _ in range(self.rng.randint(9, 14)):
            at = day + timedelta(minutes=self.rng.randint(0, 8 * 60))
            conversation = await self.conversation(at, Tier.BOT)
            if self.rng.random() < 0.55:
                await self.rate(conversation, None, at + timedelta(seconds=40))

    async def tier2(self, day: datetime, queue: QueueName) -> None:
        at = day + timedelta(minutes=self.rng.randint(0, 8 * 60))
        agent = self.rng.choice(AGENTS[queue])
        wait = self.rng.choice([15, 40, 70, 120, 180, 260, 420])
        first = wait + self.rng.randint(20, 90)
        handle = self.rng.randint(180, 900)
        conversation = await self.conversation(at, Tier.ONLINE, queue=queue, assignee_id=agent)
        ticket = Ticket(
            id=f"t-{conversation.id}",
            conversation_id=conversation.id,
            client_id=conversation.client_id,
            tier=Tier.ONLINE,
            reason=self.rng.choice([EscalationReason.LOW_SCORE, EscalationReason.ASKED_HUMAN]),
            question="两融账户怎么开" if queue == QueueName.SERVICE else "这只基金适合我吗",
            enqueued_at=at,
            queue=queue,
            status=TicketStatus.RESOLVED,
            assigned_to=agent,
            assigned_at=at + timedelta(seconds=wait),
            first_response_at=at + timedelta(seconds=first),
            resolved_at=at + timedelta(seconds=wait + handle),
        )
        await self.record.open_ticket(ticket)
        if self.rng.random() < 0.15:
            await self.transfer(conversation, agent, at + timedelta(seconds=wait + 60))
        await self.rate(conversation, ticket, at + timedelta(seconds=wait + handle + 30))

    async def tier3(self, day: datetime) -> None:
        at = day + timedelta(minutes=self.rng.randint(0, 8 * 60))
        conversation = await self.conversation(at, Tier.RESPONDER, assignee_id="rsp01")
        accept = self.rng.randint(240, 1500)
        ticket = Ticket(
            id=f"t-{conversation.id}",
            conversation_id=conversation.id,
            client_id=conversation.client_id,
            tier=Tier.RESPONDER,
            reason=EscalationReason.AGENT_ESCALATED,
            question="想调整资产配置",
            enqueued_at=at,
            status=TicketStatus.RESOLVED,
            assigned_to="rsp01",
            assigned_at=at + timedelta(seconds=accept),
            first_response_at=at + timedelta(seconds=accept + 45),
            resolved_at=at + timedelta(seconds=accept + 1200),
        )
        await self.record.open_ticket(ticket)
        await self.rate(conversation, ticket, at + timedelta(seconds=accept + 1230))

    async def transfer(self, conversation: Conversation, actor: str, at: datetime) -> None:
        after = dataclasses.replace(conversation, version=conversation.version + 1)
        state = ConversationState.CLOSED
        move = Transition(conversation.id, "transfer_agent", state, state, actor, Tier.ONLINE, "to a colleague", at)
        await self.record.save_transition(conversation, after, move)


async def seed_a_week(record: Record, now: datetime) -> int:
    """The seven days up to `now` (each day's activity within eight hours ending an hour before `now`'s time of day);
    returns the conversations written."""
    seeder = Seeder(record, random.Random(13))
    for days_ago in range(6, -1, -1):
        day = now - timedelta(days=days_ago, hours=9)
        await seeder.bot_day(day)
        for _ in range(seeder.rng.randint(3, 5)):
            await seeder.tier2(day, QueueName.ADVISOR)
        for _ in range(seeder.rng.randint(2, 4)):
            await seeder.tier2(day, QueueName.SERVICE)
        if seeder.rng.random() < 0.6:
            await seeder.tier3(day)
    return seeder.count
