"""The audit log's vocabulary and its hash chain (pure: standard library only).

Every entry carries its place in one chain: a sequence number (1, 2, ...), the previous entry's hash
and its own hash, SHA-256 over the canonical JSON of (previous hash, seq, time, actor, action, subject,
detail). Changing, deleting or inserting a row breaks the chain at that row, and `check_chain` names it.

Details are normalised before they are hashed and stored (`normalise_detail`), so what comes back from
either database (SQLite JSON, PostgreSQL JSONB) hashes exactly as it did when it was written.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64
"""The "previous hash" of the first entry."""


class AuditAction(StrEnum):
    """The names of audited actions. Transitions are audited as `transition.<name>` by the journal."""

    STAFF_LOGIN = "staff.login"
    """A staff member signed in (actor: staff id; subject: staff:<id>)."""
    STAFF_LOGIN_FAILED = "staff.login_failed"
    """A sign-in was refused (actor: the id as typed, masked; detail: reason)."""
    CONVERSATION_START = "conversation.start"
    """A client's conversation began."""
    CONVERSATION_OPEN = "conversation.open"
    """A staff member opened a client's conversation in the console."""
    CONVERSATION_READ = "conversation.read"
    """A staff member's console re-read a conversation it had not opened (at most once per window)."""
    TRANSFER_TO_QUEUE = "transition.transfer_queue"
    """Moved to the other tier-2 queue."""
    TRANSFER_TO_STAFF = "transition.transfer_agent"
    """Handed to a tier-2 colleague."""
    RESOLVE = "transition.resolve"
    """A question was resolved."""
    ESCALATE_TO_QUEUE = "transition.escalate_to_queue"
    """The bot could not resolve it: a tier-2 queue."""
    ESCALATE_TO_RESPONDER = "transition.escalate_to_responder"
    """Handed to the client's assigned responder (tier 3)."""
    LEAVE_MESSAGE = "transition.leave_message"
    """The client left a message for the responder (nobody could answer then)."""
    RESPONDER_REASSIGN = "transition.responder_reassign"
    """The responder ladder moved on (backup, duty manager)."""
    FEEDBACK = "feedback"
    """The client answered 问题已解答 / 问题未解答."""
    PRESENCE = "presence"
    """A staff member went online, away or offline."""
    QUEUES_REBUILD = "queues.rebuild"
    """The tier-2 queues were rebuilt from the record."""
    IMPORT_STAFF = "import_staff"
    """The staff directory was imported."""
    IMPORT_CLIENTS = "import_clients"
    """The client directory was imported."""
    SET_PASSWORD = "set_password"
    """A staff password was set from the command line."""
    SEED_DEMO_PASSWORDS = "seed_demo_passwords"
    """The demo directory's passwords were set."""
    GUEST_CREATED = "client.guest_created"
    """An unknown WeCom user is served as a guest client."""
    DATA_EXPORT = "data.export"
    """Records left the system as a file (subject: what was exported; detail: filters and row count)."""
    KB_ENTRY_CREATED = "kb.entry_created"
    """A knowledge-base entry was added (subject: faq:<id>)."""
    KB_ENTRY_UPDATED = "kb.entry_updated"
    """A knowledge-base entry was changed (detail: the fields changed)."""
    KB_ENTRY_RETIRED = "kb.entry_retired"
    """A knowledge-base entry was withdrawn."""
    KB_REVIEW = "kb.review"
    """A knowledge editor approved, edited, rejected or moved a learning candidate (subject: kb_candidate:<id>)."""
    KB_PHRASING_APPROVED = "kb.phrasing_approved"
    """A learned candidate phrasing joined the corpus."""
    KB_PHRASING_REJECTED = "kb.phrasing_rejected"
    """A learned candidate phrasing was rejected."""
    COMPLIANCE_SEARCH = "compliance.search"
    """Conversations were searched for compliance (detail: the filters, text masked, page and hit count)."""
    CANNED_REPLY_CREATED = "canned_reply.created"
    """A canned reply was added (subject: canned_reply:<id>; detail: team)."""
    CANNED_REPLY_UPDATED = "canned_reply.updated"
    """A canned reply was changed (detail: team)."""
    CANNED_REPLY_DELETED = "canned_reply.deleted"
    """A canned reply was removed (detail: team)."""
    KB_INDEX_PUBLISHED = "kb.index_published"
    """A rebuilt FAQ index went live."""
    RATING = "rating"
    """The client rated a resolved question 1–5 (detail: score, tier, staff id)."""
    STAFF_LOGOUT = "staff.logout"
    """A staff member ended one session (detail: the session id)."""
    STAFF_LOGOUT_ALL = "staff.logout_all"
    """Every token of a staff member was revoked (detail: the new token version)."""
    STAFF_PASSWORD_CHANGE = "staff.password_change"
    """A staff member changed their password; their earlier tokens are refused."""
    STAFF_REFRESH_REUSED = "staff.refresh_reused"
    """A rotated refresh token was presented again: its session was revoked."""
    STAFF_DISABLE = "staff.disable"
    """A staff member was disabled (detail: conversations requeued, passed on, kept)."""
    STAFF_ENABLE = "staff.enable"
    """A disabled staff member was enabled again."""


@dataclass(frozen=True)
class ChainedEntry:
    """One stored audit entry with its place in the chain."""

    id: int
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, object]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainLink:
    """What a new entry is chained with: its sequence number, the previous hash and its own hash."""

    seq: int
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """The result of walking the chain: the count checked, and the first broken entry if any."""

    count: int
    head_seq: int
    head_hash: str
    broken_id: int | None = None
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """No entry was changed, deleted or inserted."""
        return self.problem is None


def normalise_detail(detail: Mapping[Any, object]) -> dict[str, object]:
    """The detail as plain JSON that hashes the same after a database round trip.

    Keys become strings, tuples lists, integral floats integers (PostgreSQL's JSONB returns 1e20 as an
    integer), non-finite floats and any other value their string.
    """
    return {str(key): _plain(value) for key, value in detail.items()}


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, UTF-8 characters kept: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def utc_text(at: datetime) -> str:
    """The time as hashed: UTC ISO 8601 with microseconds (naive times are refused)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()} given; audit times are UTC-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(  # noqa: PLR0917 - the hashed fields, in their order
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, detail: Mapping[str, object]
) -> str:
    """SHA-256 (hex) over the canonical JSON of the previous hash and the entry's fields."""
    fields = [prev_hash, seq, utc_text(at), actor, action, subject, normalise_detail(detail)]
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def next_link(  # noqa: PLR0917 - the hashed fields, in their order
    head_seq: int, head_hash: str, at: datetime, actor: str, action: str, subject: str, detail: Mapping[str, object]
) -> ChainLink:
    """The link of the entry appended after the chain head (`head_seq` 0 and GENESIS_HASH for the first)."""
    seq = head_seq + 1
    return ChainLink(seq, head_hash, entry_hash(head_hash, seq, at, actor, action, subject, detail))


class ChainWalker:
    """Checks entries one at a time, in seq order, against the stored chain head; stops at the first broken one.

    `anchors` ({seq: hash}, noted down elsewhere earlier) catch a chain rewritten from some entry onwards
    together with its head, which no hash chain can detect by itself.
    """

    def __init__(self, head_seq: int, head_hash: str, anchors: Mapping[int, str] | None = None) -> None:
        self.head_seq = head_seq
        self.head_hash = head_hash
        self.anchors = dict(anchors or {})
        self.count = 0
        self.last_seq = 0
        self.last_hash = GENESIS_HASH
        self.broken: tuple[ChainedEntry, str] | None = None

    def feed(self, entry: ChainedEntry) -> bool:
        """Check the next entry; False once the chain is broken (the entry and the problem are kept)."""
        if self.broken is not None:
            return False
        problem = self._problem(entry)
        if problem is not None:
            self.broken = (entry, problem)
            return False
        self.count += 1
        self.last_seq, self.last_hash = entry.seq, entry.hash
        return True

    def _problem(self, entry: ChainedEntry) -> str | None:
        expected = self.last_seq + 1
        if entry.seq < expected:
            return f"sequence {entry.seq} repeats or goes back (expected {expected}): an inserted row"
        if entry.seq > expected:
            missing = f"{expected}" if entry.seq == expected + 1 else f"{expected}-{entry.seq - 1}"
            return f"sequence jumps from {self.last_seq} to {entry.seq}: entries {missing} were deleted"
        if entry.prev_hash != self.last_hash:
            return "its previous hash does not match the entry before it: the chain was re-linked"
        computed = entry_hash(
            entry.prev_hash, entry.seq, entry.at, entry.actor, entry.action, entry.subject, entry.detail
        )
        if computed != entry.hash:
            return "its content no longer matches its hash: the row was changed"
        if entry.seq > self.head_seq:
            return f"it lies beyond the chain head (sequence {self.head_seq}): a row inserted past the log's appends"
        if entry.seq == self.head_seq and entry.hash != self.head_hash:
            return "its hash differs from the one the chain head recorded: the last entry was replaced"
        anchored = self.anchors.get(entry.seq)
        if anchored is not None and anchored != entry.hash:
            return f"its hash differs from the anchor noted for sequence {entry.seq}: the chain was rewritten"
        return None

    def report(self) -> ChainReport:
        """The result: the first broken entry, or entries missing at the end, or OK."""
        if self.broken is not None:
            entry, problem = self.broken
            return ChainReport(self.count, self.head_seq, self.head_hash, entry.id, entry.seq, problem)
        if self.last_seq < self.head_seq:
            problem = (
                f"the chain ends at sequence {self.last_seq} but its head records {self.head_seq}: "
                "entries at the end were deleted"
            )
            return ChainReport(self.count, self.head_seq, self.head_hash, None, self.last_seq + 1, problem)
        missing = sorted(seq for seq in self.anchors if seq > self.last_seq)
        if missing:
            problem = f"the anchored sequence {missing[0]} is no longer in the chain: the chain was cut"
            return ChainReport(self.count, self.head_seq, self.head_hash, None, missing[0], problem)
        return ChainReport(self.count, self.head_seq, self.head_hash)


def check_chain(
    entries: Iterable[ChainedEntry], head_seq: int, head_hash: str, anchors: Mapping[int, str] | None = None
) -> ChainReport:
    """Walk `entries` (in seq order) against the stored chain head (and any anchors)."""
    walker = ChainWalker(head_seq, head_hash, anchors)
    for entry in entries:
        if not walker.feed(entry):
            break
    return walker.report()
