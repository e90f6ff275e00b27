import pytest

from tests.routing.contract.conftest import Stores


async def test_first_claim_wins(stores: Stores):
    assert await stores.idempotency.claim("wecom:msg:1", 60)
    assert not await stores.idempotency.claim("wecom:msg:1", 60)
    assert await stores.idempotency.claim("wecom:msg:2", 60)


async def test_claims_expire(stores: Stores):
    assert await stores.idempotency.claim("k", 10)
    stores.clock.advance(9)
    assert not await stores.idempotency.claim("k", 10)
    stores.clock.advance(2)
    assert await stores.idempotency.claim("k", 10)
    assert not await stores.idempotency.claim("k", 10)


async def test_a_released_claim_can_be_claimed_again(stores: Stores):
    assert await stores.idempotency.claim("wecom:msg:9", 60)
    await stores.idempotency.release("wecom:msg:9")
    assert await stores.idempotency.claim("wecom:msg:9", 60)
    assert not await stores.idempotency.claim("wecom:msg:9", 60)
    await stores.idempotency.release("never-claimed")  # harmless


async def test_ttl_must_be_positive(stores: Stores):
    with pytest.raises(ValueError):
        await stores.idempotency.claim("k", 0)
