"""Creating, listing, revoking and authenticating keys over the SQL store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff_api.api_keys import ApiKeyRegistry, InvalidKeyRequest, KeyNameTaken, Scope, SqlApiKeyStore

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
READ = ["conversations:read"]


async def test_a_created_key_authenticates_with_its_scopes(registry: ApiKeyRegistry) -> None:
    issued = await registry.create("crm", ["conversations:open", "conversations:read"], NOW)
    key = await registry.authenticate(issued.presented, NOW + timedelta(seconds=1))
    assert key is not None and key.name == "crm" and key.scopes == {Scope.OPEN, Scope.READ}
    assert key.allows(Scope.READ) and not key.allows(Scope.WRITE)


async def test_wrong_secrets_unknown_ids_and_revoked_keys_do_not_authenticate(registry: ApiKeyRegistry) -> None:
    issued = await registry.create("crm", READ, NOW)
    prefix, key_id, secret = issued.presented.split("_", 2)
    assert await registry.authenticate(f"{prefix}_{key_id}_{secret[::-1]}", NOW) is None
    assert await registry.authenticate(f"{prefix}_{'0' * 16}_{secret}", NOW) is None
    revoked = await registry.revoke("crm", NOW + timedelta(minutes=1))
    assert revoked is not None and revoked.revoked_at == NOW + timedelta(minutes=1)
    assert await registry.authenticate(issued.presented, NOW + timedelta(minutes=2)) is None
    assert await registry.revoke("crm", NOW) is None  # nothing active of that name any more


async def test_names_are_unique_among_active_keys_and_free_again_after_revoking(registry: ApiKeyRegistry) -> None:
    first = await registry.create("crm", READ, NOW)
    with pytest.raises(KeyNameTaken, match="an active key named 'crm' exists"):
        await registry.create("crm", READ, NOW)
    await registry.revoke("crm", NOW)
    second = await registry.create("crm", ["conversations:write"], NOW + timedelta(minutes=1))
    assert [k.id for k in await registry.list_keys()] == [second.key.id]
    assert [k.id for k in await registry.list_keys(include_revoked=True)] == [first.key.id, second.key.id]


async def test_bad_requests_store_nothing(registry: ApiKeyRegistry) -> None:
    for name, scopes in (("bad name", READ), ("crm", ["everything"]), ("crm", [])):
        with pytest.raises(InvalidKeyRequest):
            await registry.create(name, scopes, NOW)
    assert await registry.list_keys(include_revoked=True) == []


async def test_use_is_recorded_at_most_every_few_minutes(store: SqlApiKeyStore, registry: ApiKeyRegistry) -> None:
    issued = await registry.create("crm", READ, NOW)
    await registry.authenticate(issued.presented, NOW + timedelta(minutes=1))
    await registry.authenticate(issued.presented, NOW + timedelta(minutes=2))
    found = await store.find(issued.key.id)
    assert found is not None and found[0].last_used_at == NOW + timedelta(minutes=1)
    await registry.authenticate(issued.presented, NOW + timedelta(minutes=7))
    found = await store.find(issued.key.id)
    assert found is not None and found[0].last_used_at == NOW + timedelta(minutes=7)
    assert found[1] == issued.secret_hash and issued.presented not in found[1]
