"""Canned replies in process memory (routing.canned.CannedReplyStore), seeded with the default replies."""

from __future__ import annotations

from datetime import UTC, datetime

from routing.canned import DEFAULT_REPLIES, CannedReply, CannedTeam, default_id, in_order

SEEDED_BY = "system"
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def default_replies() -> list[CannedReply]:
    """The defaults every record starts with (the migration seeds the same rows)."""
    return [
        CannedReply(default_id(number), CannedTeam.ALL, title, text, SEEDED_BY, SEEDED_AT)
        for number, (title, text) in enumerate(DEFAULT_REPLIES, start=1)
    ]


class MemoryCannedReplies:
    """A dictionary behind the CannedReplyStore port."""

    def __init__(self, seeded: bool = True) -> None:
        self._replies: dict[str, CannedReply] = {r.id: r for r in default_replies()} if seeded else {}

    async def list_replies(self, teams: frozenset[CannedTeam] | None = None) -> list[CannedReply]:
        return in_order([r for r in self._replies.values() if teams is None or r.team in teams])

    async def get_reply(self, reply_id: str) -> CannedReply | None:
        return self._replies.get(reply_id)

    async def save_reply(self, reply: CannedReply) -> None:
        self._replies[reply.id] = reply

    async def delete_reply(self, reply_id: str) -> bool:
        return self._replies.pop(reply_id, None) is not None
