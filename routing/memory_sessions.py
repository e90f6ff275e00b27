"""Refresh tokens in memory (one process; tests). The SQL store is routing.sql_sessions."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from routing.sessions import RefreshOutcome, RefreshToken, Rotation


class MemoryRefreshTokenStore:
    """routing.sessions.RefreshTokenStore in a dict (no awaits inside a call, so every call is atomic)."""

    def __init__(self) -> None:
        self._tokens: dict[str, RefreshToken] = {}

    async def add(self, token: RefreshToken) -> None:
        self._tokens[token.token_hash] = token

    async def rotate(self, token_hash: str, new_hash: str, expires_at: datetime, now: datetime) -> Rotation:
        token = self._tokens.get(token_hash)
        if token is None:
            return Rotation(RefreshOutcome.UNKNOWN)
        if token.revoked_at is not None:
            return Rotation(RefreshOutcome.REVOKED, token.staff_id, token.family_id)
        if token.rotated_at is not None:
            self._revoke(lambda t: t.family_id == token.family_id, now)
            return Rotation(RefreshOutcome.REUSED, token.staff_id, token.family_id)
        if token.expires_at <= now:
            return Rotation(RefreshOutcome.EXPIRED, token.staff_id, token.family_id)
        self._tokens[token_hash] = dataclasses.replace(token, rotated_at=now)
        self._tokens[new_hash] = RefreshToken(new_hash, token.staff_id, token.family_id, now, expires_at)
        return Rotation(RefreshOutcome.ROTATED, token.staff_id, token.family_id)

    async def get(self, token_hash: str) -> RefreshToken | None:
        return self._tokens.get(token_hash)

    async def family_live(self, family_id: str, now: datetime) -> bool:
        return any(
            t.family_id == family_id and t.rotated_at is None and t.revoked_at is None and t.expires_at > now
            for t in self._tokens.values()
        )

    async def revoke_family(self, family_id: str, now: datetime) -> int:
        return self._revoke(lambda t: t.family_id == family_id, now)

    async def revoke_staff(self, staff_id: str, now: datetime) -> int:
        return self._revoke(lambda t: t.staff_id == staff_id, now)

    def _revoke(self, chosen: Callable[[RefreshToken], bool], now: datetime) -> int:
        hits = [t for t in self._tokens.values() if t.revoked_at is None and chosen(t)]
        for token in hits:
            self._tokens[token.token_hash] = dataclasses.replace(token, revoked_at=now)
        return len(hits)
