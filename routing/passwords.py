"""Staff password hashing (argon2id): the CLI stores hashes, the API verifies logins with them."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()


class WeakPassword(ValueError):
    """The password is too short, too long or blank."""


def check_password_rules(password: str) -> None:
    """Raise WeakPassword unless the password is acceptable."""
    if not password.strip():
        raise WeakPassword("password must not be blank")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"password must have at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """An argon2id hash of an acceptable password (WeakPassword otherwise)."""
    check_password_rules(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash; False for a missing or malformed hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's and should be replaced on login."""
    return _hasher.check_needs_rehash(password_hash)


async def hash_password_async(password: str) -> str:
    """`hash_password` off the event loop (argon2 deliberately takes tens of milliseconds)."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """`verify_password` off the event loop."""
    return await asyncio.to_thread(verify_password, password_hash, password)
