"""What the widget connections of one process share: their limits, per-client message buckets and the
client message ids already handled (so a message resent after a reconnect is stored once)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from handoff_api.ratelimit import BucketRegistry
from handoff_api.sockets import FrameLimits

RECENT_IDS = 20_000


@dataclass(frozen=True)
class WidgetLimits:
    """Frame size and rate limits of the widget protocol."""

    max_frame_bytes: int = 16_384
    message_burst: float = 5
    messages_per_second: float = 0.5
    frame_burst: float = 30
    frames_per_second: float = 10
    max_violations: int = 20
    typing_interval_seconds: float = 1.5
    queue_refresh_seconds: float = 10.0

    @classmethod
    def for_chars(cls, max_message_chars: int) -> WidgetLimits:
        """Frames large enough for the longest allowed message (UTF-8 and JSON escapes included)."""
        return cls(max_frame_bytes=max(6 * max_message_chars + 1024, 4096))

    @property
    def frames(self) -> FrameLimits:
        """The limits every socket session enforces."""
        return FrameLimits(self.max_frame_bytes, self.frame_burst, self.frames_per_second, self.max_violations)


class WidgetRuntime:
    """Per-client buckets and recent message ids, shared by the widget connections of one process."""

    def __init__(self, limits: WidgetLimits) -> None:
        self.limits = limits
        self.message_buckets = BucketRegistry(limits.message_burst, limits.messages_per_second)
        self._recent: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._sockets: dict[str, list[object]] = {}

    def admit(self, client_id: str, socket: object, cap: int) -> list[object]:
        """Register a client's new socket; return the oldest ones beyond `cap`, for the caller to close."""
        sockets = self._sockets.setdefault(client_id, [])
        sockets.append(socket)
        excess = sockets[: max(0, len(sockets) - cap)]
        del sockets[: len(excess)]
        return excess

    def release(self, client_id: str, socket: object) -> None:
        """Forget a socket that ended (closed by either side or replaced)."""
        sockets = self._sockets.get(client_id, [])
        if socket in sockets:
            sockets.remove(socket)
        if not sockets:
            self._sockets.pop(client_id, None)

    def socket_count(self, client_id: str) -> int:
        """How many sockets the client holds in this process."""
        return len(self._sockets.get(client_id, []))

    def seen(self, client_id: str, client_msg_id: str) -> int | None:
        """The seq stored for a client message id already handled in this process, if any."""
        return self._recent.get((client_id, client_msg_id))

    def remember(self, client_id: str, client_msg_id: str, seq: int) -> None:
        """Remember a handled client message id (bounded)."""
        self._recent[(client_id, client_msg_id)] = seq
        while len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)
