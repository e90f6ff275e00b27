"""`python -m routing audit verify | tail` on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from routing import sql_tables as t
from routing.__main__ import main
from routing.audit_cli import MaskerUnavailable, load_masker
from routing.sql_engine import create_engine_for
from routing.sql_record import SqlRecord
from tests.routing.test_sql_audit import entry_ids, without_guards

REPO = Path(__file__).resolve().parents[2]
WHEN = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


async def write(url: str) -> None:
    engine = create_engine_for(url)
    try:
        record = SqlRecord(engine)
        await record.audit("adv01", "conversation.open", "c1", {"client_id": "C10001"}, WHEN)
        await record.audit("13812345678", "staff.login_failed", "staff:13812345678", {"reason": "unknown"}, WHEN)
        await record.audit("svc01", "data.export", "tickets", {"filter": "身份证110101199003071234"}, WHEN)
    finally:
        await engine.dispose()


async def change_first_entry(url: str) -> int:
    engine = create_engine_for(url)
    try:
        first = (await entry_ids(engine))[0]
        async with without_guards(engine) as conn:
            await conn.execute(t.audit_log.update().where(t.audit_log.c.id == first).values(actor="adv02"))
        return first
    finally:
        await engine.dispose()


def test_verify_prints_ok_with_the_count_then_names_a_broken_entry(migrated_database_url: str) -> None:
    url = ["--database-url", migrated_database_url]
    assert run_cli("audit", "verify", *url) == (0, f"audit log OK: 0 entries, head 0:{'0' * 64}\n")
    asyncio.run(write(migrated_database_url))
    code, out = run_cli("audit", "verify", *url)
    assert code == 0 and out.startswith("audit log OK: 3 entries, head 3:")
    head = out.strip().rsplit(" ", 1)[1]
    assert run_cli("audit", "verify", "--anchor", head, *url)[0] == 0

    first = asyncio.run(change_first_entry(migrated_database_url))
    code, out = run_cli("audit", "verify", *url)
    assert code == 1
    assert out == (
        f"audit log BROKEN at entry id {first} (seq 1): its content no longer matches its hash: "
        "the row was changed (0 entries before it are intact)\n"
    )


def test_tail_prints_the_latest_entries_with_personal_data_masked(migrated_database_url: str) -> None:
    url = ["--database-url", migrated_database_url]
    assert run_cli("audit", "tail", *url) == (0, "the audit log is empty\n")
    asyncio.run(write(migrated_database_url))
    code, out = run_cli("audit", "tail", "-n", "2", *url)
    assert code == 0
    assert out.splitlines() == [
        '#2 2026-12-08T09:30:00+00:00 138****5678 staff.login_failed staff:138****5678 {"reason":"unknown"}',
        '#3 2026-12-08T09:30:00+00:00 svc01 data.export tickets {"filter":"身份证110***********1234"}',
    ]
    assert "13812345678" not in out and "110101199003071234" not in out


@pytest.mark.parametrize("count", ["0", "-3", "many", "10001"])
def test_tail_refuses_a_bad_count(count: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "tail", "-n", count, "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"])
    assert exit_info.value.code == 2
    assert "argument -n" in capsys.readouterr().err


def test_verify_refuses_a_malformed_anchor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "verify", "--anchor", "3:nothex", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"])
    assert exit_info.value.code == 2
    assert "is not SEQ:HASH" in capsys.readouterr().err


def test_without_its_masker_tail_prints_nothing_unmasked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(MaskerUnavailable, match="cannot load"):
        load_masker("knowledge_base.no_such_module:mask")
    monkeypatch.setattr("routing.audit_cli.PERSONAL_DATA_MASKER", "knowledge_base.personal_data:no_such_function")
    code, out = run_cli("audit", "tail", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert (code, out) == (2, "")
    assert "cannot load the personal-data masker" in capsys.readouterr().err


def test_the_module_runs_as_a_command(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "routing", "audit", "verify", "--database-url", url],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("audit log OK: 0 entries")
