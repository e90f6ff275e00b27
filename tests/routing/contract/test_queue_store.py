from datetime import timedelta

from routing.models import QueueName
from routing.ports import QueueEntry
from tests.routing.contract.conftest import Stores

A, S = QueueName.ADVISOR, QueueName.SERVICE


def entry(stores: Stores, ticket: str, priority: int = 0, seconds: float = 0, queue: QueueName = A) -> QueueEntry:
    at = stores.clock.now() + timedelta(seconds=seconds)
    return QueueEntry(ticket, f"conv-{ticket}", queue, priority, at)


async def fill(stores: Stores) -> None:
    for item in (
        entry(stores, "t-old", 0, 0),
        entry(stores, "t-new", 0, 5),
        entry(stores, "t-vip-late", 1002, 9),
        entry(stores, "t-gold", 2, 3),
        entry(stores, "t-vip-early", 1002, 1),
    ):
        await stores.queues.enqueue(item)


async def test_priority_first_then_fifo(stores: Stores):
    await fill(stores)
    order = [e.ticket_id for e in await stores.queues.entries(A)]
    assert order == ["t-vip-early", "t-vip-late", "t-gold", "t-old", "t-new"]
    assert await stores.queues.length(A) == 5
    assert await stores.queues.length(S) == 0
    assert await stores.queues.position(A, "t-old") == 4
    assert await stores.queues.position(A, "missing") is None
    assert await stores.queues.position(S, "t-old") is None
    head = await stores.queues.peek(A)
    assert head == entry(stores, "t-vip-early", 1002, 1)
    assert [e.ticket_id for e in await stores.queues.entries(A, limit=2)] == ["t-vip-early", "t-vip-late"]


async def test_entries_round_trip_exactly(stores: Stores):
    original = entry(stores, "t1", 7, 1.5, S)
    await stores.queues.enqueue(original)
    assert await stores.queues.entries(S) == [original]


async def test_claim_head_leases_in_order_and_never_twice(stores: Stores):
    await fill(stores)
    first = await stores.queues.claim_head(A, "w1", 30)
    second = await stores.queues.claim_head(A, "w2", 30)
    assert first is not None and second is not None
    assert (first.entry.ticket_id, second.entry.ticket_id) == ("t-vip-early", "t-vip-late")
    assert first.claimer == "w1"
    assert first.expires_at == stores.clock.now() + timedelta(seconds=30)
    assert await stores.queues.location("t-vip-early") == "lease"
    assert await stores.queues.position(A, "t-gold") == 1
    assert await stores.queues.claim_head(S, "w1", 30) is None


async def test_claim_ticket_is_exclusive(stores: Stores):
    await fill(stores)
    lease = await stores.queues.claim_ticket(A, "t-gold", "w1", 30)
    assert lease is not None and lease.entry.ticket_id == "t-gold"
    assert await stores.queues.claim_ticket(A, "t-gold", "w2", 30) is None
    assert await stores.queues.claim_ticket(S, "t-old", "w2", 30) is None  # wrong queue
    assert await stores.queues.claim_ticket(A, "missing", "w2", 30) is None


async def test_ack_requires_the_claimer(stores: Stores):
    await fill(stores)
    lease = await stores.queues.claim_head(A, "w1", 30)
    assert lease is not None
    assert not await stores.queues.ack(lease.entry.ticket_id, "w2")
    assert await stores.queues.ack(lease.entry.ticket_id, "w1")
    assert not await stores.queues.ack(lease.entry.ticket_id, "w1")
    assert await stores.queues.location(lease.entry.ticket_id) is None
    assert await stores.queues.leases() == []


async def test_requeue_restores_the_original_place(stores: Stores):
    await fill(stores)
    lease = await stores.queues.claim_head(A, "w1", 30)
    assert lease is not None
    assert not await stores.queues.requeue(lease.entry.ticket_id, "w2")
    assert await stores.queues.requeue(lease.entry.ticket_id, "w1")
    assert (await stores.queues.peek(A)) == lease.entry
    assert await stores.queues.location(lease.entry.ticket_id) == A


async def test_expired_leases_are_reclaimed(stores: Stores):
    await fill(stores)
    short = await stores.queues.claim_head(A, "dead", 10)
    long = await stores.queues.claim_head(A, "alive", 60)
    assert short is not None and long is not None
    assert [lease.claimer for lease in await stores.queues.leases()] == ["dead", "alive"]
    assert await stores.queues.reclaim_expired() == []
    stores.clock.advance(10)
    reclaimed = await stores.queues.reclaim_expired()
    assert reclaimed == [short.entry]
    assert (await stores.queues.peek(A)) == short.entry
    assert not await stores.queues.ack(short.entry.ticket_id, "dead")  # too late: the lease is gone
    assert [lease.entry.ticket_id for lease in await stores.queues.leases()] == [long.entry.ticket_id]


async def test_enqueue_moves_a_ticket_between_queues_and_out_of_leases(stores: Stores):
    await fill(stores)
    await stores.queues.enqueue(entry(stores, "t-old", 0, 0, S))
    assert await stores.queues.location("t-old") == S
    assert "t-old" not in [e.ticket_id for e in await stores.queues.entries(A)]
    lease = await stores.queues.claim_head(S, "w1", 30)
    assert lease is not None
    await stores.queues.enqueue(lease.entry)
    assert await stores.queues.leases() == []
    assert await stores.queues.location("t-old") == S


async def test_remove_drops_from_queue_or_lease(stores: Stores):
    await fill(stores)
    lease = await stores.queues.claim_head(A, "w1", 30)
    assert lease is not None
    assert await stores.queues.remove(lease.entry.ticket_id)
    assert await stores.queues.remove("t-old")
    assert not await stores.queues.remove("t-old")
    assert await stores.queues.location("t-old") is None
    assert await stores.queues.leases() == []
    assert await stores.queues.length(A) == 3


async def test_fifo_holds_within_one_millisecond(stores: Stores):
    base = stores.clock.now()
    for micro, ticket in ((900, "a"), (100, "z"), (500, "m")):
        await stores.queues.enqueue(QueueEntry(ticket, f"c-{ticket}", A, 0, base + timedelta(microseconds=micro)))
    assert [e.ticket_id for e in await stores.queues.entries(A)] == ["z", "m", "a"]
    assert await stores.queues.position(A, "a") == 3
