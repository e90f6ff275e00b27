"""Test doubles for the WeCom router's ports."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from handoff_api.wecom.client import SendResult, SendStatus
from handoff_api.wecom.identity import InboundText
from handoff_api.wecom.kf import KfMessage, KfSyncPage


class MemoryIdempotencyStore:
    """claim() is True the first time a key is seen within its TTL."""

    def __init__(self) -> None:
        self._expires: dict[str, float] = {}

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        if self._expires.get(key, 0.0) > now:
            return False
        self._expires[key] = now + ttl_seconds
        return True

    async def release(self, key: str) -> None:
        self._expires.pop(key, None)


@dataclass
class RecordingHandler:
    texts: list[InboundText] = field(default_factory=list)
    fail: bool = False

    async def handle_text(self, message: InboundText) -> None:
        if self.fail:
            raise RuntimeError("handler exploded")
        self.texts.append(message)


@dataclass
class RecordingOutbound:
    texts: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    kf_texts: list[tuple[str, str, str]] = field(default_factory=list)
    kf_pulls: list[tuple[str, str]] = field(default_factory=list)
    kf_inbox: list[KfMessage] = field(default_factory=list)

    async def send_text(self, user_ids: Sequence[str], content: str) -> SendResult:
        self.texts.append((tuple(user_ids), content))
        return SendResult(SendStatus.SENT, 1)

    async def send_kf_text(self, external_userid: str, open_kfid: str, content: str) -> SendResult:
        self.kf_texts.append((external_userid, open_kfid, content))
        return SendResult(SendStatus.SENT, 1)

    async def sync_kf_page(self, token: str, open_kfid: str, cursor: str | None) -> KfSyncPage:
        """Everything in kf_inbox as one page, with no cursor."""
        self.kf_pulls.append((token, open_kfid))
        return KfSyncPage(list(self.kf_inbox), None, has_more=False)
