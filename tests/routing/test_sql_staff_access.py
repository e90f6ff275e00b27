"""The record's staff access (SQLite and PostgreSQL): the active flag, the token version, and imports keep it."""

from __future__ import annotations

import dataclasses

import pytest

from routing.errors import NotFound
from routing.models import QueueName, Role, Staff
from routing.sql_record import SqlRecord

MEMBER = Staff("svc01", "刘洋", Role.SERVICE, frozenset({QueueName.SERVICE}), 8, "上海浦东营业部")


async def test_bumping_and_disabling_move_the_token_version(sql_record: SqlRecord) -> None:
    await sql_record.replace_staff([MEMBER])
    stored = await sql_record.get_staff("svc01")
    assert stored is not None and (stored.active, stored.token_version) == (True, 0)
    assert await sql_record.bump_token_version("svc01") == 1
    disabled = await sql_record.set_staff_active("svc01", False)
    assert (disabled.active, disabled.token_version) == (False, 2)
    enabled = await sql_record.set_staff_active("svc01", True)
    assert (enabled.active, enabled.token_version) == (True, 2)  # enabling does not revive old tokens


async def test_an_import_sets_active_but_never_the_token_version(sql_record: SqlRecord) -> None:
    await sql_record.replace_staff([MEMBER])
    await sql_record.bump_token_version("svc01")
    await sql_record.replace_staff([dataclasses.replace(MEMBER, active=False, token_version=0)])
    stored = await sql_record.get_staff("svc01")
    assert stored is not None and (stored.active, stored.token_version) == (False, 1)


async def test_unknown_staff_is_not_found(sql_record: SqlRecord) -> None:
    with pytest.raises(NotFound):
        await sql_record.bump_token_version("ghost")
    with pytest.raises(NotFound):
        await sql_record.set_staff_active("ghost", False)
