"""The `make run` supervisor: one dying process stops the others and is named; SIGINT stops all cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from handoff_api.launcher import rasa_server_argv

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys
    from handoff_api.launcher import Child, supervise

    env = dict(os.environ)
    sleeper = Child("api", [sys.executable, "-c", "import time; print('api up', flush=True); time.sleep(60)"], env)
    die = "import sys, time; time.sleep(float(sys.argv[1])); print('model missing', flush=True); sys.exit(3)"
    dying = Child("rasa", [sys.executable, "-c", die, sys.argv[1]], env)

    async def ready() -> bool:
        await asyncio.sleep(0.2)
        return True

    code = asyncio.run(supervise([sleeper, dying], ready, "READY"))
    print(f"launcher exit {code}", flush=True)
    sys.exit(code)
    """
)


def _run(seconds_until_death: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, seconds_until_death],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_dying_process_stops_the_others_and_is_named() -> None:
    launcher = _run("1.0")
    out, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 1, out
    assert "READY" in out
    assert "rasa exited with code 3; stopping the others." in out
    assert "model missing" in out.split("Last lines from rasa:")[1]
    assert "launcher exit 1" in out


def test_ctrl_c_stops_everything_cleanly() -> None:
    launcher = _run("120")
    deadline = time.monotonic() + 30
    assert launcher.stdout is not None
    seen = ""
    while "READY" not in seen and time.monotonic() < deadline:
        seen += launcher.stdout.readline()
    launcher.send_signal(signal.SIGINT)
    out, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0, seen + out
    assert "Stopping ..." in out and "Stopped." in out


def test_options_and_the_wiring_of_several_rasa_replicas(tmp_path: Path, monkeypatch) -> None:
    from handoff_api.launcher import children, parse_options, wire_rasa
    from handoff_api.settings import Settings

    monkeypatch.delenv("API_WORKERS", raising=False)
    options = parse_options(["--rasa-replicas", "2", "--rasa-port", "6100"])
    assert (options.api_workers, options.rasa_replicas, options.rasa_port) == (1, 2, 6100)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}", redis_url=None)
    wiring = wire_rasa(settings, [6100, 6101], tmp_path / "rasa")
    assert wiring.urls == "http://127.0.0.1:6100,http://127.0.0.1:6101"
    assert len(wiring.action_token) >= 32 and wiring.action_token != wiring.auth_token
    names = [child.name for child in children(settings, wiring, 1)]
    assert names == ["api", "rasa-1", "rasa-2"]
    api, *replicas = children(settings, wiring, 1)
    assert api.env["ACTION_ENDPOINT_TOKEN"] == wiring.action_token and api.env["RASA_URL"] == wiring.urls
    assert [replica.env["RASA_NLU_CACHE_SIZE"] for replica in replicas] == ["4096", "4096"]
    small = settings.model_copy(update={"rasa_nlu_cache_size": 0})
    assert children(small, wiring, 1)[1].env["RASA_NLU_CACHE_SIZE"] == "0"


def test_several_api_workers_need_redis(monkeypatch) -> None:
    from handoff_api import launcher

    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setattr(launcher, "RASA_PYTHON", Path(sys.executable))
    monkeypatch.setattr(launcher, "MODEL", Path(__file__))
    assert launcher.main(["--api-workers", "2"]) == 2


def test_development_refuses_a_network_address_with_a_clear_message(monkeypatch, capsys) -> None:
    from handoff_api import launcher

    monkeypatch.setenv("APP_MODE", "development")
    monkeypatch.setenv("API_HOST", "0.0.0.0")
    assert launcher.main([]) == 2
    assert "development mode listens on loopback only, not API_HOST='0.0.0.0'" in capsys.readouterr().err


def test_the_banner_says_development_listens_on_loopback_and_how_to_get_a_key(tmp_path: Path) -> None:
    from handoff_api.launcher import RasaWiring, banner
    from handoff_api.settings import Settings

    wiring = RasaWiring(tmp_path / "endpoints.yml", "action", "auth", (5005,))
    text = banner(Settings(_env_file=None), wiring)
    assert "Development mode: listening on 127.0.0.1 only (loopback)" in text
    assert "python -m handoff_api keys create" in text and "Authorization: Bearer $KEY" in text
    production = Settings(
        _env_file=None, app_mode="production", staff_token_secret="s" * 40, client_token_secret="c" * 40
    )
    assert "loopback" not in banner(production, wiring) and "/docs" not in banner(production, wiring)


def test_the_startup_deadline_comes_from_the_flag_or_the_environment(monkeypatch, capsys) -> None:
    from handoff_api.launcher import STARTUP_SECONDS, parse_options

    monkeypatch.delenv("LAUNCHER_STARTUP_SECONDS", raising=False)
    assert parse_options([]).startup_seconds == STARTUP_SECONDS
    monkeypatch.setenv("LAUNCHER_STARTUP_SECONDS", "600")
    assert parse_options([]).startup_seconds == 600.0
    assert parse_options(["--startup-seconds", "90"]).startup_seconds == 90.0
    with pytest.raises(SystemExit) as refused:
        parse_options(["--startup-seconds", "0"])
    assert refused.value.code == 2
    assert "--startup-seconds must be positive" in capsys.readouterr().err


def test_several_api_workers_sum_their_metrics_in_a_fresh_directory(tmp_path: Path, monkeypatch) -> None:
    from handoff_api.launcher import children, metrics_directory, wire_rasa
    from handoff_api.settings import Settings

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1234.db").write_bytes(b"left from the last run")
    assert metrics_directory(1, directory) is None
    assert metrics_directory(2, directory) == directory and list(directory.iterdir()) == []
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}", redis_url=None)
    wiring = wire_rasa(settings, [6100], tmp_path / "rasa")
    api, rasa = children(settings, wiring, 2, directory)
    assert api.env["PROMETHEUS_MULTIPROC_DIR"] == str(directory) and "PROMETHEUS_MULTIPROC_DIR" not in rasa.env
    assert "PROMETHEUS_MULTIPROC_DIR" not in children(settings, wiring, 1)[0].env
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "operators-own"))
    assert metrics_directory(2, directory) is None


@pytest.mark.rasa
def test_rasa_reads_an_auth_token_that_begins_with_a_dash(tmp_path: Path) -> None:
    rasa_python = ROOT / ".venv-rasa" / "bin" / "python"
    if not rasa_python.exists():
        pytest.fail(f"Rasa is not installed at {rasa_python}: run `make setup` (it creates .venv-rasa)")
    argv = rasa_server_argv(rasa_python, tmp_path / "m.tar.gz", 6200, tmp_path / "e.yml", "-starts-with-a-dash")
    parse = (
        "import json, sys; from rasa.__main__ import create_argument_parser; "
        "args = create_argument_parser().parse_args(sys.argv[1:]); print(json.dumps([args.auth_token, args.port]))"
    )
    done = subprocess.run(
        [str(rasa_python), "-c", parse, *argv[3:]], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == '["-starts-with-a-dash", 6200]'
