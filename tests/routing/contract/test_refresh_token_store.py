"""RefreshTokenStore contract: memory, SQLite and PostgreSQL keep the same rotation and revocation rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from routing.memory_sessions import MemoryRefreshTokenStore
from routing.sessions import (
    RefreshOutcome,
    RefreshToken,
    RefreshTokenStore,
    hash_refresh_token,
    new_family_id,
    new_refresh_token,
)
from routing.sql_engine import create_engine_for
from routing.sql_sessions import SqlRefreshTokenStore

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=12)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Memory as well as the SQL backends of tests/routing/conftest.py."""
    return str(request.param)


@pytest.fixture
async def store(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[RefreshTokenStore]:
    if backend == "memory":
        yield MemoryRefreshTokenStore()
        return
    url: str = request.getfixturevalue("migrated_database_url")  # SQLite and PostgreSQL
    engine = create_engine_for(url)
    try:
        yield SqlRefreshTokenStore(engine)
    finally:
        await engine.dispose()


async def signed_in(store: RefreshTokenStore, staff_id: str = "adv01") -> tuple[str, str]:
    """A new session's first refresh token and its family."""
    token, family = new_refresh_token(), new_family_id()
    await store.add(RefreshToken(hash_refresh_token(token), staff_id, family, NOW, NOW + DAY))
    return token, family


async def test_a_live_token_rotates_once_into_its_family(store: RefreshTokenStore) -> None:
    token, family = await signed_in(store)
    successor = new_refresh_token()
    later = NOW + timedelta(minutes=25)
    rotation = await store.rotate(hash_refresh_token(token), hash_refresh_token(successor), later + DAY, later)
    assert (rotation.outcome, rotation.staff_id, rotation.family_id) == (RefreshOutcome.ROTATED, "adv01", family)
    old = await store.get(hash_refresh_token(token))
    new = await store.get(hash_refresh_token(successor))
    assert old is not None and old.rotated_at == later and old.revoked_at is None
    assert new is not None and (new.family_id, new.issued_at, new.expires_at) == (family, later, later + DAY)
    assert await store.family_live(family, later)


async def test_reusing_a_rotated_token_revokes_the_family(store: RefreshTokenStore) -> None:
    token, family = await signed_in(store)
    successor = new_refresh_token()
    await store.rotate(hash_refresh_token(token), hash_refresh_token(successor), NOW + DAY, NOW)
    reuse = await store.rotate(hash_refresh_token(token), hash_refresh_token(new_refresh_token()), NOW + DAY, NOW)
    assert (reuse.outcome, reuse.staff_id) == (RefreshOutcome.REUSED, "adv01")
    assert not await store.family_live(family, NOW)
    after = await store.rotate(hash_refresh_token(successor), hash_refresh_token(new_refresh_token()), NOW + DAY, NOW)
    assert after.outcome == RefreshOutcome.REVOKED  # the successor went with its family


async def test_two_concurrent_uses_rotate_once(store: RefreshTokenStore) -> None:
    token, family = await signed_in(store)
    outcomes = await asyncio.gather(
        *(
            store.rotate(hash_refresh_token(token), hash_refresh_token(new_refresh_token()), NOW + DAY, NOW)
            for _ in range(2)
        )
    )
    assert sorted(o.outcome for o in outcomes) == [RefreshOutcome.REUSED, RefreshOutcome.ROTATED]
    assert not await store.family_live(family, NOW)


async def test_unknown_and_expired_tokens_store_nothing(store: RefreshTokenStore) -> None:
    unknown = await store.rotate(hash_refresh_token("nope"), hash_refresh_token("x"), NOW + DAY, NOW)
    assert (unknown.outcome, unknown.staff_id) == (RefreshOutcome.UNKNOWN, None)
    token, family = await signed_in(store)
    expired_at = NOW + DAY
    successor = new_refresh_token()
    expired = await store.rotate(hash_refresh_token(token), hash_refresh_token(successor), expired_at + DAY, expired_at)
    assert expired.outcome == RefreshOutcome.EXPIRED
    assert await store.get(hash_refresh_token(successor)) is None
    assert not await store.family_live(family, expired_at)


async def test_revoking_a_family_or_a_member_leaves_the_others(store: RefreshTokenStore) -> None:
    first, first_family = await signed_in(store)
    _, second_family = await signed_in(store)
    _, colleague_family = await signed_in(store, "svc01")
    assert await store.revoke_family(first_family, NOW) == 1
    assert not await store.family_live(first_family, NOW)
    assert await store.family_live(second_family, NOW)
    refused = await store.rotate(hash_refresh_token(first), hash_refresh_token("y"), NOW + DAY, NOW)
    assert refused.outcome == RefreshOutcome.REVOKED
    assert await store.revoke_staff("adv01", NOW) == 1  # the first family was revoked already
    assert not await store.family_live(second_family, NOW)
    assert await store.family_live(colleague_family, NOW)
    assert await store.revoke_staff("adv01", NOW) == 0
