"""`make run-cluster` end to end: the launcher itself starts 2 API workers and 2 Rasa replicas on Redis and
PostgreSQL, says where they are, routes each conversation to one replica, and stops them all on Ctrl-C.

The Rasa replicas are stand-ins (a small REST server per replica answering like Rasa's REST channel), started
by the launcher exactly as it starts `rasa run`: the launcher, uvicorn's workers, the startup lock on a fresh
database, Redis and the replica wiring are the real ones. Bounded: every wait has a deadline.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from handoff_api.client_tokens import issue_client_token
from handoff_api.settings import Settings
from tests.handoff_api.multiworker_harness import redis_prefix
from tests.net import TEST_REDIS_URL, free_port, temporary_postgres_database

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = [f"C1000{n}" for n in range(1, 10)]
READY = "Tiered Response Engine is running."
STARTUP_SECONDS = 180.0

# `rasa run ... -p PORT ...` stand-in: Rasa's REST channel and /status, printing each message it gets.
FAKE_RASA = textwrap.dedent(
    """
    import sys
    from http.server import ThreadingHTTPServer
    sys.path.insert(0, sys.argv.pop(1))
    from tests.handoff_api.multiworker_harness import FakeRasaHandler

    port = int(sys.argv[sys.argv.index("-p") + 1])

    class Handler(FakeRasaHandler):
        def do_POST(self):
            print(f"replica {port} got a message", flush=True)
            super().do_POST()

        def do_GET(self):
            if self.path.startswith("/status?token="):  # the launcher's readiness check
                self.path = "/status"
            super().do_GET()

    print(f"replica {port} up", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
    """
)

# The launcher's own main(), with the stand-in in place of .venv-rasa's Python and Rasa's files in a temporary place.
DRIVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import handoff_api.launcher as launcher

    fake_rasa, directory, rasa_port = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    (directory / "tier1.tar.gz").write_bytes(b"")
    launcher.RASA_PYTHON, launcher.MODEL = fake_rasa, directory / "tier1.tar.gz"
    wire = launcher.wire_rasa
    launcher.wire_rasa = lambda settings, ports: wire(settings, ports, directory)
    sys.exit(launcher.main(["--api-workers", "2", "--rasa-replicas", "2", "--rasa-port", rasa_port]))
    """
)


class Output:
    """The launcher's merged output, read on a thread so the pipe never fills."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line.rstrip("\n"))

    def finish(self, seconds: float = 30.0) -> str:
        """Everything printed, once the launcher has exited and its pipe is drained."""
        self._thread.join(seconds)
        return self.text

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, needle: str, process: subprocess.Popen[str], seconds: float, times: int = 1) -> None:
        deadline = time.monotonic() + seconds
        while self.text.count(needle) < times:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no '{needle}' from the launcher:\n{self.text[-6000:]}")
            time.sleep(0.2)


def launcher_script(tmp_path: Path) -> Path:
    fake = tmp_path / "rasa"
    fake.write_text(f"#!{sys.executable}\n{FAKE_RASA.replace('sys.argv.pop(1)', repr(str(ROOT)))}", encoding="utf-8")
    fake.chmod(0o755)
    return fake


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Output, str, tuple[int, int], str]]:
    secret = secrets.token_urlsafe(32)
    api_port, rasa_port = free_port(), free_port()
    while rasa_port + 1 == api_port:
        rasa_port = free_port()
    with temporary_postgres_database("tre_cluster") as database_url, redis_prefix() as prefix:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "APP_MODE": "development",
            "SECRET_KEY": secret,
            "DATABASE_URL": database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "ROUTING_REDIS_KEY_PREFIX": prefix,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(api_port),
            "KB_INDEX_DIR": str(tmp_path / "no-index"),
            "ROUTING_ALWAYS_OPEN": "true",
        }
        process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(launcher_script(tmp_path)), str(tmp_path), str(rasa_port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        output = Output(process)
        try:
            output.wait_for(READY, process, STARTUP_SECONDS)
            yield process, output, f"http://127.0.0.1:{api_port}", (rasa_port, rasa_port + 1), secret
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)


def test_two_workers_and_two_replicas_start_serve_and_stop_together(cluster) -> None:
    process, output, base, rasa_ports, secret = cluster
    # The banner comes once the port answers; the second worker may still be starting.
    output.wait_for("Application startup complete", process, STARTUP_SECONDS, times=2)
    assert f"http://127.0.0.1:{rasa_ports[0]}, http://127.0.0.1:{rasa_ports[1]}" in output.text
    assert httpx.get(f"{base}/health/live", timeout=10).status_code == 200

    settings = Settings(_env_file=None, secret_key=secret)
    with httpx.Client(base_url=base, timeout=30) as http:
        for client_id in CLIENTS:
            token = issue_client_token(settings, client_id, datetime.now(UTC), lifetime=timedelta(minutes=10))
            auth = {"Authorization": f"Bearer {token}"}
            opened = http.post("/api/v1/conversations", json={}, headers=auth)
            assert opened.status_code == 201, opened.text
            messages = f"/api/v1/conversations/{opened.json()['id']}/messages"
            sent = http.post(messages, json={"text": "科创板"}, headers=auth)
            assert sent.status_code == 200, sent.text
            assert "bg-kcb-threshold" in sent.text
            if all(f"replica {port} got a message" in output.text for port in rasa_ports):
                break
    assert all(f"[rasa-{n}] replica {port} got a message" in output.text for n, port in enumerate(rasa_ports, 1))

    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0
    last_words = output.finish()
    assert "Stopping ..." in last_words
    assert last_words.rstrip().endswith("Stopped."), last_words[-2000:]
