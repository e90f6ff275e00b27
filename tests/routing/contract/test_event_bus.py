from tests.routing.contract.conftest import Stores


async def test_every_subscriber_gets_every_later_event(stores: Stores):
    first = await stores.events.subscribe()
    second = await stores.events.subscribe()
    try:
        await stores.events.publish({"type": "queued", "conversation_id": "c1", "position": 2})
        await stores.events.publish({"type": "message", "text": "您好"})
        for subscription in (first, second):
            assert await subscription.next_event(2) == {"type": "queued", "conversation_id": "c1", "position": 2}
            assert await subscription.next_event(2) == {"type": "message", "text": "您好"}
            assert await subscription.next_event(0.05) is None
    finally:
        await first.close()
        await second.close()


async def test_closed_subscriptions_receive_nothing_more(stores: Stores):
    kept = await stores.events.subscribe()
    dropped = await stores.events.subscribe()
    await dropped.close()
    try:
        await stores.events.publish({"type": "closed", "conversation_id": "c1"})
        assert await kept.next_event(2) == {"type": "closed", "conversation_id": "c1"}
    finally:
        await kept.close()


async def test_iteration_yields_events(stores: Stores):
    subscription = await stores.events.subscribe()
    try:
        await stores.events.publish({"type": "presence", "staff_id": "a"})
        async for event in subscription:
            assert event == {"type": "presence", "staff_id": "a"}
            break
    finally:
        await subscription.close()
