"""`python -m routing disable-staff` / `enable-staff` on SQLite and PostgreSQL: messages and exit codes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from routing.models import Staff
from routing.sessions import RefreshToken, hash_refresh_token
from routing.sql_engine import create_engine_for
from routing.sql_record import SqlRecord
from routing.sql_sessions import SqlRefreshTokenStore
from tests.routing.test_main import run_cli


async def _member(url: str, staff_id: str) -> Staff | None:
    engine = create_engine_for(url)
    try:
        return await SqlRecord(engine).get_staff(staff_id)
    finally:
        await engine.dispose()


async def _signed_in(url: str, staff_id: str) -> str:
    """A live session of the member; its family id."""
    engine = create_engine_for(url)
    now = datetime.now(UTC)
    try:
        await SqlRefreshTokenStore(engine).add(
            RefreshToken(hash_refresh_token("t-" + staff_id), staff_id, "family-1", now, now + timedelta(hours=1))
        )
    finally:
        await engine.dispose()
    return "family-1"


async def _live(url: str, family: str) -> bool:
    engine = create_engine_for(url)
    try:
        return await SqlRefreshTokenStore(engine).family_live(family, datetime.now(UTC))
    finally:
        await engine.dispose()


def test_disable_and_enable_staff(empty_database_url: str) -> None:
    url = ["--database-url", empty_database_url]
    assert run_cli("seed-demo", *url)[0] == 0
    family = asyncio.run(_signed_in(empty_database_url, "svc01"))

    code, out = run_cli("disable-staff", "svc01", *url)
    assert code == 0
    assert out.startswith("svc01 disabled: sign-ins and tokens refused, 1 refresh tokens revoked")
    member = asyncio.run(_member(empty_database_url, "svc01"))
    assert member is not None and (member.active, member.token_version) == (False, 1)
    assert not asyncio.run(_live(empty_database_url, family))
    assert run_cli("disable-staff", "svc01", *url) == (0, "svc01 is already disabled; nothing changed\n")

    assert run_cli("enable-staff", "svc01", *url) == (0, "svc01 enabled: they may sign in again\n")
    member = asyncio.run(_member(empty_database_url, "svc01"))
    assert member is not None and (member.active, member.token_version) == (True, 1)


def test_an_unknown_staff_id_is_rejected_with_exit_code_2(
    empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--database-url", empty_database_url]
    assert run_cli("disable-staff", "ghost", *url) == (2, "")
    assert "rejected: unknown staff member 'ghost'" in capsys.readouterr().err
    assert run_cli("enable-staff", "ghost", *url)[0] == 2
