"""The routing collaborators built by hand over the fake record and memory ports (the branch of service_world)."""

from __future__ import annotations

from dataclasses import dataclass, field

from routing.events import RoutingEvent
from routing.memory import ManualClock, MemoryEventBus, MemoryPresenceStore, MemoryQueueStore, MemorySubscription
from routing.models import Channel, Conversation, ConversationState, EscalationReason, Presence, QueueName, Ticket, Tier
from routing.service.assigner import Assigner
from routing.service.journal import Journal
from routing.service.ladder import Ladder
from routing.service.lookups import Lookups
from routing.service.rules import RoutingRules
from routing.state_machine import TransitionName
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import CLIENTS, SETTINGS, STAFF, KeywordClassifier


@dataclass
class Parts:
    record: FakeRecord
    clock: ManualClock
    queues: MemoryQueueStore
    presence: MemoryPresenceStore
    feed: MemorySubscription
    lookups: Lookups
    journal: Journal
    assigner: Assigner
    rules: RoutingRules
    ladder: Ladder
    seen: list[RoutingEvent] = field(default_factory=list)

    async def drain(self) -> list[RoutingEvent]:
        while (event := await self.feed.next_event(0)) is not None:
            self.seen.append(event)
        return self.seen

    async def online(self, *staff_ids: str) -> None:
        for staff_id in staff_ids:
            member = await self.lookups.staff(staff_id)
            await self.presence.set_presence(staff_id, member.skills, Presence.ONLINE, 90)

    async def conversation(self, client_id: str = "c-std") -> Conversation:
        now = self.clock.now()
        conversation = Conversation(
            f"conv-{client_id}", client_id, Channel.WIDGET, ConversationState.BOT, Tier.BOT, now, now
        )
        await self.journal.open_conversation(conversation)
        return conversation

    async def queued(self, client_id: str = "c-std", queue: QueueName = QueueName.ADVISOR) -> Conversation:
        """A conversation waiting in `queue` with its ticket, as intake leaves it (without assigning)."""
        conversation = await self.conversation(client_id)
        client = await self.lookups.client(client_id)
        ticket = Ticket(
            f"t-{client_id}",
            conversation.id,
            client_id,
            Tier.ONLINE,
            reason=EscalationReason.LOW_SCORE,
            question="问题",
            enqueued_at=self.clock.now(),
            queue=queue,
            priority=self.rules.priority(client),
            vip=client.vip,
        )
        await self.journal.open_ticket(ticket)
        after = await self.journal.move(
            conversation, TransitionName.ESCALATE_TO_QUEUE, "system", "low_score", queue=queue, ticket_id=ticket.id
        )
        await self.assigner.enqueue(ticket)
        return after


async def build_parts() -> Parts:
    record = FakeRecord()
    await record.replace_clients(CLIENTS)
    await record.replace_staff(STAFF)
    clock = ManualClock()
    events = MemoryEventBus()
    feed = await events.subscribe()
    queues, presence = MemoryQueueStore(clock), MemoryPresenceStore(clock)
    lookups = Lookups(record)
    journal = Journal(record, events, clock)
    assigner = Assigner(lookups, journal, queues, presence, SETTINGS.claim_lease_seconds, "w-test")
    rules = RoutingRules.from_settings(SETTINGS, KeywordClassifier())
    ladder = Ladder(record, lookups, journal, assigner, rules, clock)
    return Parts(record, clock, queues, presence, feed, lookups, journal, assigner, rules, ladder)
