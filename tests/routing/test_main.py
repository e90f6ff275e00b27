"""The `python -m routing` command line against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import pytest

from routing.__main__ import main
from routing.directory_import import DEMO_STAFF_CSV
from routing.passwords import verify_password
from routing.sql_engine import create_engine_for
from routing.sql_record import SqlRecord

REPO = Path(__file__).resolve().parents[2]


class FakeStdin(io.StringIO):
    def isatty(self) -> bool:
        return False


async def stored_password_hash(url: str, staff_id: str) -> str | None:
    engine = create_engine_for(url)
    try:
        return await SqlRecord(engine).get_password_hash(staff_id)
    finally:
        await engine.dispose()


def run_cli(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdin=FakeStdin(stdin), out=out)
    return code, out.getvalue()


def test_seed_import_and_set_password(empty_database_url: str) -> None:
    url = ["--database-url", empty_database_url]
    assert run_cli("seed-demo", *url) == (0, "demo directory ready: 13 staff, 20 clients, password demo1234\n")
    assert run_cli("import-staff", str(DEMO_STAFF_CSV), *url) == (
        0,
        f"imported 13 staff members from {DEMO_STAFF_CSV}\n",
    )

    assert run_cli("set-password", "adv01", "--password-stdin", *url, stdin="new secret\n")[0] == 0
    assert verify_password(asyncio.run(stored_password_hash(empty_database_url, "adv01")), "new secret")


def test_rejections_exit_2_with_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = ["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}"]
    bad = tmp_path / "clients.csv"
    bad.write_text("id,name,tier,vip,branch,responder_id\nK1,某,普通,perhaps,上海,rsp01\n", encoding="utf-8")
    assert run_cli("import-clients", str(bad), *url)[0] == 2
    errors = capsys.readouterr().err
    assert "row 2: vip 'perhaps' is not a boolean" in errors
    assert "row 2: unknown responder_id 'rsp01'" in errors

    assert run_cli("set-password", "nobody", *url, stdin="long enough\n")[0] == 2
    assert "unknown staff member 'nobody'" in capsys.readouterr().err
    assert run_cli("set-password", "nobody", *url, stdin="short\n")[0] == 2
    assert "at least 8 characters" in capsys.readouterr().err
    assert run_cli("import-staff", str(tmp_path / "missing.csv"), *url)[0] == 2
    assert "no such file" in capsys.readouterr().err


def test_module_runs_as_a_program(tmp_path: Path) -> None:
    database = tmp_path / "engine.db"
    result = subprocess.run(
        [sys.executable, "-m", "routing", "migrate", "--database-url", f"sqlite+aiosqlite:///{database}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "schema is at the latest revision\n")
    assert database.is_file()
