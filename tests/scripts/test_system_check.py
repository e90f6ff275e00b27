"""scripts/system-check.sh, on a fake machine (a PATH of stand-in tools): root installs, others are told at once."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "system-check.sh"
ALL_TOOLS = ("redis-server", "redis-cli", "pg_isready", "psql", "chromium", "fc-list")


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    apt_calls: list[str]


def tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def machine(
    tmp_path: Path, *, root: bool, tools: tuple[str, ...], answering: bool = True, lets_in: bool = True
) -> dict[str, str]:
    """A PATH with only the given tools; `apt-get` records its arguments instead of installing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool(bin_dir, "id", f"echo {0 if root else 1000}")
    tool(bin_dir, "apt-get", f'echo "$*" >> {tmp_path / "apt.log"}')
    bodies = {
        "redis-server": "exit 0",
        "redis-cli": "echo PONG" if answering else "exit 1",
        "pg_isready": "exit 0" if answering else "exit 2",
        "psql": "exit 0" if lets_in else "exit 2",
        "chromium": "exit 0",
        "fc-list": "echo 'Noto Sans CJK SC'",
    }
    for name in tools:
        tool(bin_dir, name, bodies[name])
    server = tmp_path / "pg" / "16" / "bin" / "postgres"
    if "pg_isready" in tools:
        server.parent.mkdir(parents=True)
        server.write_text("", encoding="utf-8")
    return {"PATH": str(bin_dir), "SYSTEM_POSTGRES_GLOB": str(tmp_path / "pg" / "*" / "bin" / "postgres")}


def run(tmp_path: Path, env: dict[str, str], mode: str = "test") -> Outcome:
    done = subprocess.run(
        ["/bin/bash", str(SCRIPT), mode], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    log = tmp_path / "apt.log"
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return Outcome(done.returncode, done.stdout, done.stderr, calls)


def test_not_root_with_nothing_installed_names_every_package_in_one_line(tmp_path: Path) -> None:
    outcome = run(tmp_path, machine(tmp_path, root=False, tools=()))
    assert outcome.code == 1
    assert outcome.stderr.count("\n") == 1
    assert "redis-server postgresql chromium fonts-noto-cjk" in outcome.stderr
    assert outcome.apt_calls == []


def test_not_root_with_servers_installed_but_down_says_what_to_start(tmp_path: Path) -> None:
    outcome = run(tmp_path, machine(tmp_path, root=False, tools=ALL_TOOLS, answering=False))
    assert outcome.code == 1
    assert outcome.stderr.startswith("Redis does not answer on 127.0.0.1:6379")
    assert outcome.stderr.count("\n") == 1


def test_a_postgresql_that_wants_a_password_is_named_not_changed(tmp_path: Path) -> None:
    outcome = run(tmp_path, machine(tmp_path, root=True, tools=ALL_TOOLS, lets_in=False))
    assert outcome.code == 1
    assert outcome.stderr.startswith("PostgreSQL refuses postgresql://postgres@127.0.0.1:5432/postgres: allow it")
    assert outcome.stderr.count("\n") == 1


def test_root_installs_only_what_is_missing(tmp_path: Path) -> None:
    tools = tuple(name for name in ALL_TOOLS if name != "chromium")
    outcome = run(tmp_path, machine(tmp_path, root=True, tools=tools))
    assert outcome.code == 0, outcome.stderr
    assert outcome.apt_calls == ["update -qq", "install -y -qq chromium"]


def test_a_ready_machine_passes_and_installs_nothing(tmp_path: Path) -> None:
    outcome = run(tmp_path, machine(tmp_path, root=True, tools=ALL_TOOLS))
    assert outcome.code == 0, outcome.stderr
    assert outcome.apt_calls == []
    assert "System ready for 'make test'" in outcome.stdout


def test_the_cluster_needs_no_browser_or_fonts(tmp_path: Path) -> None:
    env = machine(tmp_path, root=False, tools=("redis-server", "redis-cli", "pg_isready", "psql"))
    assert run(tmp_path, env, "cluster").code == 0
    assert run(tmp_path, env, "test").stderr.strip().endswith("(as root: apt-get install -y chromium fonts-noto-cjk)")


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    outcome = run(tmp_path, machine(tmp_path, root=False, tools=ALL_TOOLS), "deploy")
    assert outcome.code == 2
    assert "usage" in outcome.stderr
