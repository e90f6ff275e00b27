"""Password hashing rules and verification."""

from __future__ import annotations

import pytest

from routing.passwords import (
    WeakPassword,
    hash_password,
    hash_password_async,
    needs_rehash,
    verify_password,
    verify_password_async,
)


def test_hash_verifies_only_the_right_password() -> None:
    password_hash = hash_password("demo1234")
    assert password_hash.startswith("$argon2id$")
    assert verify_password(password_hash, "demo1234")
    assert not verify_password(password_hash, "demo12345")
    assert hash_password("demo1234") != password_hash  # salted
    assert not needs_rehash(password_hash)


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "at least 8"), ("        ", "blank"), ("x" * 257, "at most 256")],
)
def test_weak_passwords_are_refused(password: str, message: str) -> None:
    with pytest.raises(WeakPassword, match=message):
        hash_password(password)


@pytest.mark.parametrize("stored", [None, "", "not-a-hash", "$argon2id$v=19$broken"])
def test_missing_or_malformed_hashes_never_verify(stored: str | None) -> None:
    assert not verify_password(stored, "demo1234")


async def test_async_variants() -> None:
    password_hash = await hash_password_async("长一点的密码abc")
    assert await verify_password_async(password_hash, "长一点的密码abc")
    assert not await verify_password_async(password_hash, "wrong one")
