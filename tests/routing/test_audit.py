"""The audit chain's pure rules: canonical hashing, normalised details, and naming the first broken entry."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from routing.audit import (
    GENESIS_HASH,
    AuditAction,
    ChainedEntry,
    canonical_json,
    check_chain,
    entry_hash,
    next_link,
    normalise_detail,
)
from routing.state_machine import TransitionName

T0 = datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC)


def chain(count: int) -> list[ChainedEntry]:
    entries: list[ChainedEntry] = []
    seq, last = 0, GENESIS_HASH
    for number in range(1, count + 1):
        at = T0 + timedelta(seconds=number)
        detail = normalise_detail({"n": number, "who": f"staff{number}"})
        link = next_link(seq, last, at, f"adv{number:02d}", "conversation.open", f"c{number}", detail)
        entries.append(
            ChainedEntry(
                number,
                link.seq,
                at,
                f"adv{number:02d}",
                "conversation.open",
                f"c{number}",
                detail,
                link.prev_hash,
                link.hash,
            )
        )
        seq, last = link.seq, link.hash
    return entries


def head_of(entries: list[ChainedEntry]) -> tuple[int, str]:
    return (entries[-1].seq, entries[-1].hash) if entries else (0, GENESIS_HASH)


def test_the_hash_is_sha256_of_the_canonical_fields() -> None:
    detail = {"b": 1, "a": "陈"}
    expected = hashlib.sha256(
        canonical_json([GENESIS_HASH, 1, "2026-12-08T01:02:03.456789+00:00", "adv01", "x", "c1", detail]).encode()
    ).hexdigest()
    assert entry_hash(GENESIS_HASH, 1, T0, "adv01", "x", "c1", detail) == expected
    assert canonical_json(detail) == '{"a":"陈","b":1}'


def test_every_field_and_the_previous_hash_change_the_hash() -> None:
    base = (GENESIS_HASH, 1, T0, "adv01", "conversation.open", "c1", {"k": 1})
    reference = entry_hash(*base)
    variants = [
        ("1" * 64, *base[1:]),
        (base[0], 2, *base[2:]),
        (*base[:2], T0 + timedelta(microseconds=1), *base[3:]),
        (*base[:3], "adv02", *base[4:]),
        (*base[:4], "conversation.read", *base[5:]),
        (*base[:5], "c2", base[6]),
        (*base[:6], {"k": 2}),
    ]
    assert all(entry_hash(*variant) != reference for variant in variants)


def test_the_time_is_hashed_in_utc_and_naive_times_are_refused() -> None:
    shanghai = T0.astimezone(timezone(timedelta(hours=8)))
    assert entry_hash(GENESIS_HASH, 1, shanghai, "a", "b", "c", {}) == entry_hash(
        GENESIS_HASH, 1, T0, "a", "b", "c", {}
    )
    with pytest.raises(ValueError, match="naive"):
        entry_hash(GENESIS_HASH, 1, T0.replace(tzinfo=None), "a", "b", "c", {})


def test_details_are_normalised_to_what_a_database_gives_back() -> None:
    assert normalise_detail({"f": 1.0, "big": 1e20, "half": 0.5, "nan": float("nan"), 3: (1, 2), "when": T0}) == {
        "f": 1,
        "big": 100000000000000000000,
        "half": 0.5,
        "nan": "nan",
        "3": [1, 2],
        "when": str(T0),
    }
    assert normalise_detail({"nested": {"x": [1.0, None, True]}}) == {"nested": {"x": [1, None, True]}}


def test_an_intact_chain_is_ok() -> None:
    entries = chain(5)
    report = check_chain(entries, *head_of(entries))
    assert report.ok and report.count == 5 and report.head_seq == 5
    assert check_chain([], 0, GENESIS_HASH).ok


def test_a_changed_entry_is_named() -> None:
    entries = chain(5)
    entries[2] = dataclasses.replace(entries[2], detail={"n": 99, "who": "staff3"})
    report = check_chain(entries, *head_of(entries))
    assert (report.ok, report.broken_id, report.count) == (False, 3, 2)
    assert "changed" in (report.problem or "")


def test_a_deleted_entry_is_named_by_the_one_after_it() -> None:
    entries = chain(5)
    del entries[1]
    report = check_chain(entries, 5, chain(5)[-1].hash)
    assert (report.broken_id, report.broken_seq) == (3, 3)
    assert "entries 2 were deleted" in (report.problem or "")


def test_deleted_entries_at_the_end_are_caught_by_the_head() -> None:
    full = chain(5)
    report = check_chain(full[:3], *head_of(full))
    assert not report.ok and report.broken_id is None and report.broken_seq == 4
    assert "deleted" in (report.problem or "")


def test_a_forged_entry_past_the_head_is_named_even_with_a_valid_hash() -> None:
    entries = chain(3)
    head = head_of(entries)
    link = next_link(*head, T0, "intruder", "staff.login", "staff:x", {})
    forged = ChainedEntry(99, link.seq, T0, "intruder", "staff.login", "staff:x", {}, link.prev_hash, link.hash)
    report = check_chain([*entries, forged], *head)
    assert report.broken_id == 99 and "beyond the chain head" in (report.problem or "")


def test_a_duplicated_sequence_and_a_relinked_chain_are_named() -> None:
    entries = chain(4)
    duplicate = dataclasses.replace(entries[1], id=77)
    report = check_chain([*entries[:2], duplicate, *entries[2:]], *head_of(entries))
    assert report.broken_id == 77 and "repeats" in (report.problem or "")

    relinked = dataclasses.replace(entries[2], prev_hash="f" * 64)
    report = check_chain([*entries[:2], relinked, entries[3]], *head_of(entries))
    assert report.broken_id == 3 and "previous hash" in (report.problem or "")


def test_anchors_catch_a_chain_rewritten_with_its_head() -> None:
    original = chain(4)
    rewritten = chain(4)[:2]
    seq, last = rewritten[-1].seq, rewritten[-1].hash
    for number in (3, 4):
        link = next_link(seq, last, T0, "forger", "x", "y", {})
        rewritten.append(ChainedEntry(number, link.seq, T0, "forger", "x", "y", {}, link.prev_hash, link.hash))
        seq, last = link.seq, link.hash
    assert check_chain(rewritten, seq, last).ok  # a consistent rewrite fools the chain alone...
    report = check_chain(rewritten, seq, last, anchors={3: original[2].hash})
    assert report.broken_id == 3 and "anchor" in (report.problem or "")  # ...not an anchor kept elsewhere
    cut = check_chain(original[:2], 2, original[1].hash, anchors={4: original[3].hash})
    assert not cut.ok and cut.broken_seq == 4


def test_the_actions_other_teams_use_are_named() -> None:
    named = {action.name: action.value for action in AuditAction}
    assert {
        "STAFF_LOGIN": "staff.login",
        "STAFF_LOGIN_FAILED": "staff.login_failed",
        "CONVERSATION_OPEN": "conversation.open",
        "DATA_EXPORT": "data.export",
        "KB_ENTRY_CREATED": "kb.entry_created",
        "KB_ENTRY_UPDATED": "kb.entry_updated",
        "KB_ENTRY_RETIRED": "kb.entry_retired",
    }.items() <= named.items()
    assert len(set(named.values())) == len(named)
    assert all(len(value) <= 64 for value in named.values())  # the column's width


@pytest.mark.parametrize(
    ("member", "transition"),
    [
        (AuditAction.TRANSFER_TO_QUEUE, TransitionName.TRANSFER_QUEUE),
        (AuditAction.TRANSFER_TO_STAFF, TransitionName.TRANSFER_AGENT),
        (AuditAction.RESOLVE, TransitionName.RESOLVE),
        (AuditAction.ESCALATE_TO_QUEUE, TransitionName.ESCALATE_TO_QUEUE),
        (AuditAction.ESCALATE_TO_RESPONDER, TransitionName.ESCALATE_TO_RESPONDER),
        (AuditAction.LEAVE_MESSAGE, TransitionName.LEAVE_MESSAGE),
        (AuditAction.RESPONDER_REASSIGN, TransitionName.RESPONDER_REASSIGN),
    ],
)
def test_transition_actions_match_the_journals_names(member: AuditAction, transition: TransitionName) -> None:
    assert member.value == f"transition.{transition.value}"
