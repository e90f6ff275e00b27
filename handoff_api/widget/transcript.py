"""The transcript side of one widget connection: every message sent once, in seq order.

The record is the source. `resume(last_seq)` sends what the record holds after `last_seq` (a fresh widget,
`last_seq` 0, gets the newest page only, and pages back with `older(before)`); from then on the feed
remembers the highest seq sent. A turn's own messages (the stored client message, the
bot's replies) are sent straight from the turn's result when they directly follow the last seq sent;
anything else (a gap, a message another actor added) is read from the record after that seq. So the
order is the record's and nothing repeats on one connection (the widget also drops a seq it has
already shown).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from handoff_api.realtime import finish_then_cancel
from handoff_api.widget import envelopes
from routing.models import Message
from routing.service.pages import TranscriptPage

SYNC_BATCH = 200
OPEN_PAGE = 200
"""A fresh widget is sent the newest this many messages."""
OLDER_PAGE = 50
"""Messages per page back."""

Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ReadAfter = Callable[[int, int], Awaitable[list[Message]]]
"""(after_seq, limit) → up to `limit` stored messages after `after_seq`, in seq order."""
ReadBefore = Callable[[int | None, int], Awaitable[TranscriptPage]]
"""(before_seq or None for the newest, limit) → the newest `limit` messages below it, and whether more remain."""


class TranscriptFeed:
    """Sends a conversation's messages to one widget, each once and in order."""

    def __init__(self, send: Send, read_after: ReadAfter, read_before: ReadBefore | None = None) -> None:
        self._send = send
        self._read_after = read_after
        self._read_before = read_before
        self._lock = asyncio.Lock()
        self._labels: dict[int, str] = {}
        self.sent_seq = 0
        self.resumed = False
        self.has_older = False
        """Messages before the first one sent remain (a fresh widget opened on the newest page)."""

    def knows(self, seq: int) -> bool:
        """The message with this seq has been sent already (or was seen before the resume point)."""
        return seq <= self.sent_seq

    async def resume(self, last_seq: int) -> None:
        """Start (again) after `last_seq`, the last message the widget has shown, and send what follows
        (from nothing shown: the newest page)."""
        async with self._lock:
            self.sent_seq = last_seq
            self.resumed = True
            if last_seq or self._read_before is None:
                await self._read_and_send()
                return
            page = await finish_then_cancel(self._read_before(None, OPEN_PAGE))
            self.has_older = page.has_older
            if page.messages:
                self.sent_seq = page.messages[0].seq - 1
            for message in page.messages:
                await self._send_one(message)

    async def older(self, before: int) -> None:
        """Send the page before `before` as one `older` envelope (shown above; no chips or feedback for it)."""
        if self._read_before is None:
            return
        page = await finish_then_cancel(self._read_before(before, OLDER_PAGE))
        shown = [envelopes.message(message) for message in page.messages]
        await self._send({"type": "older", "messages": shown, "has_older": page.has_older})

    async def catch_up(self) -> None:
        """Read and send every stored message after the last one sent."""
        async with self._lock:
            await self._read_and_send()

    async def deliver(self, messages: Sequence[Message], labels: Mapping[int, str] | None = None) -> None:
        """Send a turn's own messages, reading the record only to fill a gap before them.

        `labels` maps the seq of the client's stored message to the `client_msg_id` it was sent with.
        """
        async with self._lock:
            self._labels.update(labels or {})
            if not self.resumed:
                return
            fresh = sorted((m for m in messages if m.seq > self.sent_seq), key=lambda m: m.seq)
            if [m.seq for m in fresh] != list(range(self.sent_seq + 1, self.sent_seq + 1 + len(fresh))):
                await self._read_and_send()
                return
            for message in fresh:
                await self._send_one(message)

    async def _read_and_send(self) -> None:
        if not self.resumed:
            return
        while True:
            batch = await finish_then_cancel(self._read_after(self.sent_seq, SYNC_BATCH))
            for message in batch:
                await self._send_one(message)
            if len(batch) < SYNC_BATCH:
                return

    async def _send_one(self, message: Message) -> None:
        client_msg_id = self._labels.pop(message.seq, None)
        await self._send(envelopes.message(message, client_msg_id))
        for extra in envelopes.derived(message):
            await self._send(extra)
        self.sent_seq = message.seq
