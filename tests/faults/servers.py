"""Servers the fault suite may break: a private PostgreSQL cluster and Redis server, a fake Rasa that can be
stopped and slowed, and API workers that can be killed with SIGKILL.

Each runs on its own loopback port, so restarting or flushing it touches nothing but this suite.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from handoff_api.launcher import api_server_argv
from tests.handoff_api.multiworker_harness import FakeRasaHandler, rasa_replies
from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def _wait(ready: Any, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up within {seconds:.0f} s")


# ---------------------------------------------------------------- PostgreSQL


def postgres_bin() -> Path:
    """The newest installed PostgreSQL server's bin folder (Debian's layout)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise AssertionError("PostgreSQL's server binaries are missing: install the postgresql package")
    return Path(found[-1]).parent


class PrivatePostgres:
    """A throwaway cluster in `folder`, run as the postgres user when the suite runs as root."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.bin = postgres_bin()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"), "-w", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()


# ---------------------------------------------------------------- Redis


class PrivateRedis:
    """A redis-server keeping nothing on disk: a restart empties it, as a crash would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise AssertionError("redis-server is missing: install the redis-server package")
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen([*argv, "--dir", str(self.folder)], stdout=log, stderr=subprocess.STDOUT)
        _wait(self._answers, "the private Redis")

    def _answers(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None

    def flush(self) -> None:
        import redis

        client = redis.Redis(port=self.port)
        try:
            client.flushall()
        finally:
            client.close()


# ---------------------------------------------------------------- a fake Rasa that can fail


class FaultyRasaHandler(FakeRasaHandler):
    """The fake Rasa REST channel, answering after `server.delay` seconds and counting what it was sent."""

    server: FaultyRasaServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
        time.sleep(self.server.delay)
        self.server.count(str(body.get("message", "")))
        self._answer(200, rasa_replies(str(body.get("sender", "")), str(body.get("message", ""))))


class FaultyRasaServer(ThreadingHTTPServer):
    daemon_threads = True
    delay = 0.0
    calls: dict[str, int]
    lock: threading.Lock

    def count(self, message: str) -> None:
        with self.lock:
            self.calls[message] = self.calls.get(message, 0) + 1


class FaultyRasa:
    """Stopped, the port refuses connections (Rasa down); started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.calls: dict[str, int] = {}
        self.delay = 0.0
        self._server: FaultyRasaServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        server = FaultyRasaServer(("127.0.0.1", self.port), FaultyRasaHandler)
        server.calls, server.lock, server.delay = self.calls, self._lock, self.delay
        threading.Thread(target=server.serve_forever, name="faulty-rasa", daemon=True).start()
        self._server = server

    def slow(self, seconds: float) -> None:
        self.delay = seconds
        if self._server is not None:
            self._server.delay = seconds

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# ---------------------------------------------------------------- API workers


class ApiWorker:
    """One uvicorn process of the real app on its own port (a load balancer would send clients to either)."""

    def __init__(self, name: str, env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.env = env
        self.port = free_port()
        self.log_path = folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = api_server_argv("127.0.0.1", self.port, 1)
        log = self.log_path.open("ab")
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _wait(self._live, f"API worker {self.name}", seconds=120)

    def _live(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"API worker {self.name} exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")
        try:
            return httpx.get(f"{self.base}/health/live", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, whatever it was doing."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None
