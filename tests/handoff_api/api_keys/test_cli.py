"""`python -m handoff_api keys`: the key is printed once, listings never show secrets, bad input exits 2."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from handoff_api.api_keys.cli import EXIT_OK, EXIT_REJECTED, EXIT_UNAVAILABLE, main

ROOT = Path(__file__).resolve().parents[3]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}"


def test_create_list_and_revoke(url: str) -> None:
    code, out, err = run(
        "keys", "create", "crm", "--scope", "conversations:read", "--scope", "conversations:open", "--database-url", url
    )
    key = out.strip()
    assert code == EXIT_OK and key.startswith("tre_") and "\n" not in key
    assert "shown only this once" in err and "conversations:open, conversations:read" in err
    code, listing, _ = run("keys", "list", "--database-url", url)
    assert code == EXIT_OK and "crm" in listing and "active" in listing and key not in listing
    assert key.split("_")[2] not in listing
    code, out, _ = run("keys", "revoke", "crm", "--database-url", url)
    assert code == EXIT_OK and "revoked key 'crm'" in out
    assert "crm" not in run("keys", "list", "--database-url", url)[1]
    assert "revoked" in run("keys", "list", "--all", "--database-url", url)[1]


def test_rejected_input_exits_2_with_a_clear_message_and_changes_nothing(url: str) -> None:
    assert run("keys", "create", "crm", "--scope", "conversations:read", "--database-url", url)[0] == EXIT_OK
    code, _, err = run("keys", "create", "crm", "--scope", "conversations:write", "--database-url", url)
    assert code == EXIT_REJECTED and "an active key named 'crm' exists" in err
    code, _, err = run("keys", "create", "no spaces", "--scope", "conversations:read", "--database-url", url)
    assert code == EXIT_REJECTED and "1-64 letters" in err
    code, _, err = run("keys", "revoke", "ghost", "--database-url", url)
    assert code == EXIT_REJECTED and "no active key is named 'ghost'" in err
    assert run("keys", "list", "--database-url", url)[1].count("conversations:") == 1


def test_an_unusable_database_exits_1_without_a_traceback_or_password() -> None:
    code, _, err = run("keys", "list", "--database-url", "postgresql+asyncpg://tre:hunter2@127.0.0.1:1/tre")
    assert code == EXIT_UNAVAILABLE and "cannot use the database" in err
    assert "hunter2" not in err and "Traceback" not in err


def test_the_module_runs_and_refuses_an_unknown_scope(url: str) -> None:
    argv = [sys.executable, "-m", "handoff_api", "keys", "create", "crm", "--scope", "admin", "--database-url", url]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "invalid choice: 'admin'" in result.stderr and result.stdout == ""
