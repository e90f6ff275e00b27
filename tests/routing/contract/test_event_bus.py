from routing.events import Closed, MessageAdded, PresenceChanged, Queued
from tests.routing.contract.conftest import Stores

HELLO = MessageAdded("c1", "m1", 1, "client", "您好", "2026-12-01T09:00:00+00:00")


async def test_every_subscriber_gets_every_later_event(stores: Stores):
    first = await stores.events.subscribe()
    second = await stores.events.subscribe()
    try:
        await stores.events.publish(Queued("c1", "advisor", 2))
        await stores.events.publish(HELLO)
        for subscription in (first, second):
            assert await subscription.next_event(2) == Queued("c1", "advisor", 2)
            assert await subscription.next_event(2) == HELLO
            assert await subscription.next_event(0.05) is None
    finally:
        await first.close()
        await second.close()


async def test_closed_subscriptions_receive_nothing_more(stores: Stores):
    kept = await stores.events.subscribe()
    dropped = await stores.events.subscribe()
    await dropped.close()
    try:
        await stores.events.publish(Closed("c1"))
        assert await kept.next_event(2) == Closed("c1")
    finally:
        await kept.close()


async def test_iteration_yields_events(stores: Stores):
    subscription = await stores.events.subscribe()
    try:
        await stores.events.publish(PresenceChanged("a", "online"))
        async for event in subscription:
            assert event == PresenceChanged("a", "online")
            break
    finally:
        await subscription.close()
