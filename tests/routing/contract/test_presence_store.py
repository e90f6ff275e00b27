from routing.models import Presence, QueueName
from tests.routing.contract.conftest import Stores

A, S = QueueName.ADVISOR, QueueName.SERVICE


async def test_unknown_staff_are_offline(stores: Stores):
    assert await stores.presence.presence("nobody") == Presence.OFFLINE
    assert await stores.presence.online_staff(A) == []
    assert not await stores.presence.heartbeat("nobody", 60)


async def test_online_staff_by_skill(stores: Stores):
    await stores.presence.set_presence("b", {A}, Presence.ONLINE, 60)
    await stores.presence.set_presence("a", {A, S}, Presence.ONLINE, 60)
    await stores.presence.set_presence("c", {S}, Presence.AWAY, 60)
    assert await stores.presence.online_staff(A) == ["a", "b"]
    assert await stores.presence.online_staff(S) == ["a"]
    assert await stores.presence.presence("c") == Presence.AWAY
    await stores.presence.set_presence("a", {A, S}, Presence.OFFLINE, 60)
    assert await stores.presence.online_staff(S) == []
    assert await stores.presence.presence("a") == Presence.OFFLINE


async def test_presence_expires_without_heartbeat(stores: Stores):
    await stores.presence.set_presence("a", {A}, Presence.ONLINE, 30)
    await stores.presence.set_presence("w", {A}, Presence.AWAY, 30)
    stores.clock.advance(20)
    assert await stores.presence.heartbeat("a", 30)
    stores.clock.advance(20)
    assert await stores.presence.online_staff(A) == ["a"]
    assert await stores.presence.presence("w") == Presence.OFFLINE
    assert not await stores.presence.heartbeat("w", 30)
    stores.clock.advance(31)
    assert await stores.presence.online_staff(A) == []
    assert await stores.presence.presence("a") == Presence.OFFLINE
    assert not await stores.presence.heartbeat("a", 30)


async def test_reserve_never_exceeds_capacity(stores: Stores):
    results = [await stores.presence.reserve("a", 2) for _ in range(4)]
    assert results == [True, True, False, False]
    assert await stores.presence.load("a") == 2
    await stores.presence.release("a")
    assert await stores.presence.reserve("a", 2)
    assert not await stores.presence.reserve("a", 2)


async def test_release_never_goes_below_zero(stores: Stores):
    await stores.presence.release("a")
    assert await stores.presence.load("a") == 0
    assert await stores.presence.reserve("a", 1)


async def test_loads_and_set_load(stores: Stores):
    await stores.presence.set_load("a", 3)
    await stores.presence.reserve("b", 5)
    assert await stores.presence.loads(["a", "b", "c"]) == {"a": 3, "b": 1, "c": 0}
    assert await stores.presence.loads([]) == {}
    await stores.presence.set_load("a", -4)
    assert await stores.presence.load("a") == 0


async def test_correct_load_only_from_the_value_it_saw(stores: Stores):
    await stores.presence.set_load("a", 3)
    assert not await stores.presence.correct_load("a", 2, 5)  # it moved on since it was read: left alone
    assert await stores.presence.load("a") == 3
    assert await stores.presence.correct_load("a", 3, 1)
    assert await stores.presence.load("a") == 1
    assert await stores.presence.correct_load("never-seen", 0, 2)  # an absent counter reads 0
    assert await stores.presence.load("never-seen") == 2
    assert await stores.presence.correct_load("a", 1, -3)
    assert await stores.presence.load("a") == 0


async def test_round_robin_counter_grows(stores: Stores):
    assert [await stores.presence.next_round_robin("x") for _ in range(3)] == [0, 1, 2]
    assert await stores.presence.next_round_robin("y") == 0
