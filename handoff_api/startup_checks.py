"""What production checks before it serves anyone: no staff account may still have the demo password."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from routing.directory_import import DEMO_PASSWORD
from routing.passwords import verify_password_async
from routing.records import Record

PARALLEL_VERIFIES = 2
"""Password hashes checked at once (argon2 is deliberately slow; each distinct hash is verified once)."""


class UnsafeForProduction(RuntimeError):
    """The record holds something production must not run with; the message says what and how to fix it."""


async def staff_with_demo_password(record: Record) -> list[str]:
    """Ids of the staff members whose password is the demo password, in id order."""
    holders: dict[str, list[str]] = defaultdict(list)
    for member in await record.list_staff():
        password_hash = await record.get_password_hash(member.id)
        if password_hash:
            holders[password_hash].append(member.id)
    gate = asyncio.Semaphore(PARALLEL_VERIFIES)

    async def is_demo(password_hash: str) -> bool:
        async with gate:
            return await verify_password_async(password_hash, DEMO_PASSWORD)

    verdicts = await asyncio.gather(*(is_demo(password_hash) for password_hash in holders))
    found = [staff_id for (_, ids), demo in zip(holders.items(), verdicts, strict=True) if demo for staff_id in ids]
    return sorted(found)


async def refuse_demo_passwords(record: Record) -> None:
    """UnsafeForProduction naming every staff account that still has the demo password."""
    found = await staff_with_demo_password(record)
    if found:
        raise UnsafeForProduction(
            f"production refuses to start: {len(found)} staff account(s) still have the demo password "
            f"({', '.join(found)}); give each a new one with `python -m routing set-password STAFF_ID` "
            "or remove the demo directory"
        )
