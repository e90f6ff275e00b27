"""The key format, scopes and names, and checking a presented key against its verifier."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from handoff_api.api_keys.keys import (
    InvalidKeyRequest,
    Scope,
    check_name,
    digest,
    issue,
    key_id_of,
    looks_like_key,
    matches,
    parse_scopes,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_a_new_key_is_long_random_and_only_its_sha256_is_kept() -> None:
    first, second = issue("crm", frozenset({Scope.READ}), NOW), issue("crm", frozenset({Scope.READ}), NOW)
    assert first.presented != second.presented and first.key.id != second.key.id
    assert first.presented.startswith(f"tre_{first.key.id}_") and len(first.presented) == 4 + 16 + 1 + 43
    assert first.secret_hash == hashlib.sha256(first.presented.encode()).hexdigest() == digest(first.presented)
    assert first.presented not in repr(first.key)
    assert key_id_of(first.presented) == first.key.id and looks_like_key(first.presented)


def test_a_presented_key_matches_only_its_own_verifier() -> None:
    issued = issue("crm", frozenset({Scope.READ}), NOW)
    assert matches(issued.presented, issued.secret_hash)
    assert not matches(issued.presented[:-1] + ("A" if issued.presented[-1] != "A" else "B"), issued.secret_hash)
    assert not matches(issued.presented, digest("something else"))


@pytest.mark.parametrize("presented", ["", "tre_", "tre_abc_def", "tre_" + "g" * 16 + "_" + "A" * 43, "eyJ.x.y"])
def test_malformed_keys_have_no_id(presented: str) -> None:
    assert key_id_of(presented) is None


def test_scopes_and_names_are_checked_with_a_clear_message() -> None:
    assert parse_scopes(["conversations:read", " conversations:write "]) == {Scope.READ, Scope.WRITE}
    with pytest.raises(InvalidKeyRequest, match="unknown scope admin; the scopes are conversations:open"):
        parse_scopes(["conversations:read", "admin"])
    with pytest.raises(InvalidKeyRequest, match="at least one scope"):
        parse_scopes([" "])
    assert check_name("crm-backend.prod_1") == "crm-backend.prod_1"
    for bad in ("", "-leading", "with space", "x" * 65, "名字"):
        with pytest.raises(InvalidKeyRequest, match="1-64 letters"):
            check_name(bad)
