"""A small branch for service tests: directory, clock, memory ports and a record (fake or SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field

from routing.events import RoutingEvent
from routing.memory import (
    ManualClock,
    MemoryEventBus,
    MemoryIdempotencyStore,
    MemoryPresenceStore,
    MemoryQueueStore,
    MemorySubscription,
)
from routing.models import Client, Presence, QueueName, Role, Staff
from routing.records import Record
from routing.service import RoutingService
from routing.settings import RoutingSettings

BRANCH = "sh01"
CLIENTS = [
    Client("c-vip", "王总", "gold", True, BRANCH, "r1", wecom_id="wm-vip"),
    Client("c-std", "张三", "standard", False, BRANCH, "r1"),
    Client("c-gold", "李四", "gold", False, BRANCH, "r1"),
    Client("c-other", "赵六", "standard", False, BRANCH, "r2"),
    Client("c-orphan", "钱七", "standard", False, BRANCH, "nobody"),
]
STAFF = [
    Staff("adv1", "陈顾问", Role.ADVISOR, frozenset({QueueName.ADVISOR}), 1, BRANCH, practice_number="S1234567"),
    Staff("adv2", "周顾问", Role.ADVISOR, frozenset({QueueName.ADVISOR}), 2, BRANCH, practice_number="S7654321"),
    Staff("svc1", "吴客服", Role.SERVICE, frozenset({QueueName.SERVICE}), 2, BRANCH),
    Staff("both", "郑专员", Role.SERVICE, frozenset(QueueName), 3, BRANCH),
    Staff("r1", "孙经理", Role.RESPONDER, frozenset(), 10, BRANCH, practice_number="S1111111", backup_id="r2"),
    Staff("r2", "冯经理", Role.RESPONDER, frozenset(), 10, BRANCH),
    Staff("dm", "何值班", Role.DUTY_MANAGER, frozenset(), 10, BRANCH),
    Staff("admin", "管理员", Role.ADMIN, frozenset(), 1, BRANCH),
]
OTHER_BRANCH = "bj01"
OTHER_BRANCH_CLIENTS = [Client("c-bj", "周北京", "standard", False, OTHER_BRANCH, "r-bj")]
OTHER_BRANCH_STAFF = [
    Staff("r-bj", "吴经理", Role.RESPONDER, frozenset(), 10, OTHER_BRANCH),
    Staff("dm-bj", "郑值班", Role.DUTY_MANAGER, frozenset(), 10, OTHER_BRANCH),
]
"""A second branch (its client, responder and duty manager), added by `add_other_branch` where a test needs it."""
SETTINGS = RoutingSettings(
    tier2_wait_limit_seconds=300,
    responder_limit_seconds=600,
    presence_ttl_seconds=90,
    claim_lease_seconds=30,
    default_handle_seconds=240,
    weekday_hours=dict.fromkeys(range(5), "09:00-17:00"),
    holidays=[],
)


class KeywordClassifier:
    """Investment words go to advisors; everything else to service."""

    def classify(self, text: str) -> QueueName:
        words = ("股票", "基金", "买", "卖", "仓", "行情")
        return QueueName.ADVISOR if any(word in text for word in words) else QueueName.SERVICE


@dataclass
class World:
    service: RoutingService
    record: Record
    clock: ManualClock
    queues: MemoryQueueStore
    presence: MemoryPresenceStore
    events: MemoryEventBus
    feed: MemorySubscription
    seen: list[RoutingEvent] = field(default_factory=list)

    async def drain(self) -> list[RoutingEvent]:
        while (event := await self.feed.next_event(0)) is not None:
            self.seen.append(event)
        return self.seen

    async def online(self, *staff_ids: str) -> None:
        for staff_id in staff_ids:
            await self.service.set_presence(staff_id, Presence.ONLINE)


async def add_other_branch(world: World) -> None:
    """Give the world's firm a second branch: one client with their responder and a duty manager."""
    await world.record.replace_clients(CLIENTS + OTHER_BRANCH_CLIENTS)
    await world.record.replace_staff(STAFF + OTHER_BRANCH_STAFF)


async def build_world(record: Record, settings: RoutingSettings = SETTINGS) -> World:
    await record.replace_clients(CLIENTS)
    await record.replace_staff(STAFF)
    clock = ManualClock()
    queues = MemoryQueueStore(clock)
    presence = MemoryPresenceStore(clock)
    events = MemoryEventBus()
    feed = await events.subscribe()
    service = RoutingService(
        record, queues, presence, events, MemoryIdempotencyStore(clock), clock, KeywordClassifier(), settings
    )
    await service.rebuild_if_emptied()  # marks the stores, as a worker's start-up does
    return World(service, record, clock, queues, presence, events, feed)
