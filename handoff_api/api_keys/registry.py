"""The API key use cases: create (the key is returned once), list, revoke, and authenticate a presented key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from handoff_api.api_keys.keys import ApiKey, IssuedKey, issue, key_id_of, matches, parse_scopes
from handoff_api.api_keys.store import ApiKeyStore

TOUCH_EVERY = timedelta(minutes=5)
"""`last_used_at` is written at most this often per key, so authenticating is a read, not a write."""


class ApiKeyRegistry:
    """Keys over a store; times come from the caller (the routing clock in the API)."""

    def __init__(self, store: ApiKeyStore) -> None:
        self._store = store

    async def create(self, name: str, scopes: Iterable[str], now: datetime) -> IssuedKey:
        """A new key; InvalidKeyRequest (or KeyNameTaken) for a bad name, unknown scopes or a taken name."""
        issued = issue(name, parse_scopes(scopes), now)
        await self._store.add(issued)
        return issued

    async def list_keys(self, include_revoked: bool = False) -> list[ApiKey]:
        """Keys by name."""
        return await self._store.list_keys(include_revoked)

    async def revoke(self, name: str, now: datetime) -> ApiKey | None:
        """Revoke the active key named `name` (None if there is none); it is refused from now on."""
        return await self._store.revoke(name, now)

    async def authenticate(self, presented: str, now: datetime) -> ApiKey | None:
        """The active key `presented` is, or None (malformed, unknown, revoked or wrong secret)."""
        key_id = key_id_of(presented)
        found = await self._store.find(key_id) if key_id else None
        if found is None:
            return None
        key, secret_hash = found
        if not matches(presented, secret_hash) or not key.active:
            return None
        if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
            await self._store.touch(key.id, now)
        return key
