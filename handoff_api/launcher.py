"""`make run`: start the Rasa server(s) and the API together, watch them, stop them together.

If one process dies, the others are stopped and the launcher says which died and why (its exit code and
its last output lines). Ctrl-C stops everything cleanly. Rasa gets an endpoints file written from the
settings (var/rasa/endpoints.yml: the action endpoint with its token, the SQL tracker store, the Redis
lock store when REDIS_URL is set); tokens not set in the environment are made up for this run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from handoff_api.observability.metrics import MULTIPROC_ENV
from handoff_api.rasa_endpoints import endpoints, prepare_sqlite_tracker, write_endpoints
from handoff_api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
"""The Rasa environment's Python: it runs `bot.rasa_server` (Rasa's command line after its fixes)."""
MODEL = ROOT / "models" / "tier1.tar.gz"
RASA_DIRECTORY = ROOT / "var" / "rasa"
METRICS_DIRECTORY = ROOT / "var" / "metrics"
STARTUP_SECONDS = 180.0
STOP_SECONDS = 10.0


@dataclass
class Child:
    """One supervised process and the tail of what it printed."""

    name: str
    argv: list[str]
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=25))


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) != 0


def rasa_server_argv(rasa_python: Path, model: Path, port: int, endpoints_file: Path, auth_token: str) -> list[str]:
    """The Rasa server on loopback: the REST channel, and its HTTP API behind the auth token.

    `python -m bot.rasa_server` with the Rasa environment's Python: Rasa's own command line after its fixes to
    its turn path (bot/rasa_server.py). The token is joined to its option: one made up may begin with "-", which
    argparse would otherwise take for an option of its own."""
    return [
        str(rasa_python), "-m", "bot.rasa_server", "run",
        "--enable-api", f"--auth-token={auth_token}", "-i", "127.0.0.1", "-p", str(port), "-m", str(model),
        "--endpoints", str(endpoints_file), "--credentials", "bot/credentials.yml",
    ]  # fmt: skip


@dataclass(frozen=True)
class RasaWiring:
    """What the API and the Rasa servers must agree on for one run."""

    endpoints_file: Path
    action_token: str
    auth_token: str
    ports: tuple[int, ...]

    @property
    def urls(self) -> str:
        """RASA_URL for the API: every replica, comma-separated."""
        return ",".join(f"http://127.0.0.1:{port}" for port in self.ports)

    def api_environment(self) -> dict[str, str]:
        """The API's view of this wiring."""
        return {"RASA_URL": self.urls, "ACTION_ENDPOINT_TOKEN": self.action_token, "RASA_AUTH_TOKEN": self.auth_token}


def secret_or_new(value: SecretStr | None) -> str:
    """The configured secret, or a new random one for this run."""
    return value.get_secret_value() if value is not None else secrets.token_urlsafe(32)


def wire_rasa(settings: Settings, ports: Sequence[int], directory: Path = RASA_DIRECTORY) -> RasaWiring:
    """Write Rasa's endpoints file for this run and return the shared tokens and ports."""
    action_token = secret_or_new(settings.action_endpoint_token)
    document = endpoints(
        f"http://{settings.api_host}:{settings.api_port}/webhook",
        action_token,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        key_prefix=os.environ.get("ROUTING_REDIS_KEY_PREFIX", "tre:"),
        directory=directory,
    )
    prepare_sqlite_tracker(document["tracker_store"])
    path = write_endpoints(document, directory / "endpoints.yml")
    return RasaWiring(path, action_token, secret_or_new(settings.rasa_auth_token), tuple(ports))


def api_server_argv(host: str, port: int, workers: int = 1) -> list[str]:
    """The API under uvicorn, built by the composition root."""
    argv = [sys.executable, "-m", "uvicorn", "handoff_api.main:create_app", "--factory", "--host", host]
    return [*argv, "--port", str(port), *(["--workers", str(workers)] if workers > 1 else [])]


def metrics_directory(api_workers: int, directory: Path = METRICS_DIRECTORY) -> Path | None:
    """Several workers share one port, so a scrape reaches any one: they write their metrics to files in a
    directory emptied for this run and /metrics sums them (prometheus_client's multiprocess mode).

    None with one worker, or when PROMETHEUS_MULTIPROC_DIR is set already (whoever set it keeps it clean)."""
    if api_workers <= 1 or os.environ.get(MULTIPROC_ENV):
        return None
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def children(
    settings: Settings, wiring: RasaWiring, api_workers: int = 1, metrics_dir: Path | None = None
) -> list[Child]:
    """The Rasa server(s) and the API, configured to find each other on localhost."""
    env = dict(os.environ)
    env["RASA_TELEMETRY_ENABLED"] = "false"
    if settings.is_development:
        env.setdefault("ROUTING_ALWAYS_OPEN", "true")  # demos work at any hour; production keeps the calendar
    api_env = env | wiring.api_environment() | ({MULTIPROC_ENV: str(metrics_dir)} if metrics_dir else {})
    api = Child("api", api_server_argv(settings.api_host, settings.api_port, api_workers), api_env)
    rasa_env = env | {"RASA_NLU_CACHE_SIZE": str(settings.rasa_nlu_cache_size)}
    rasa = [
        Child(
            "rasa" if len(wiring.ports) == 1 else f"rasa-{index + 1}",
            rasa_server_argv(RASA_PYTHON, MODEL, port, wiring.endpoints_file, wiring.auth_token),
            rasa_env,
        )
        for index, port in enumerate(wiring.ports)
    ]
    return [api, *rasa]


async def pump(child: Child) -> None:
    """Copy a child's output to ours with its name in front, keeping the last lines."""
    assert child.process and child.process.stdout
    async for raw in child.process.stdout:
        line = raw.decode("utf-8", "replace").rstrip()
        child.tail.append(line)
        print(f"[{child.name}] {line}", flush=True)


async def wait_ready(settings: Settings, wiring: RasaWiring, seconds: float = STARTUP_SECONDS) -> bool:
    """Poll every server until it answers, or give up after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    urls = [f"http://{settings.api_host}:{settings.api_port}/health/live"]
    urls += [f"http://127.0.0.1:{port}/status?token={wiring.auth_token}" for port in wiring.ports]
    async with httpx.AsyncClient(timeout=2.0) as http:
        while loop.time() < deadline:
            try:
                answers = [await http.get(url) for url in urls]
                if all(answer.status_code == 200 for answer in answers):
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1.0)
    return False


def banner(settings: Settings, wiring: RasaWiring) -> str:
    """Where to talk to the engine, and what the mode allows."""
    base = settings.base_url
    lines = ["", "Tiered Response Engine is running."]
    if settings.is_development:
        lines += [
            f"  Development mode: listening on {settings.api_host} only (loopback), not reachable from other machines;",
            "  demo accounts (password demo1234) and demo tokens are on. APP_MODE=production serves a network.",
            f"  Client chat demo (widget):  {base}/demo",
        ]
    lines += [f"  Agent console:              {base}/console"]
    if settings.serves_api_docs:
        lines += [f"  API docs:                   {base}/docs"]
    lines += [
        f"  Health:                     {base}/health",
        f"  Rasa server(s):             {wiring.urls.replace(',', ', ')}",
        "  Try the REST API from a shell (an integration key, printed once):",
        "    KEY=$(python -m handoff_api keys create my-shell --scope conversations:open "
        "--scope conversations:read --scope conversations:write)",
        f'    curl -s -X POST {base}/api/v1/conversations -H "Authorization: Bearer $KEY" '
        "-H 'content-type: application/json' -d '{\"client_id\": \"C10001\"}'",
        "Press Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


async def stop_all(running: list[Child]) -> None:
    """SIGTERM every live child, then SIGKILL what is still alive after STOP_SECONDS."""
    for child in running:
        if child.process and child.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.process.terminate()
    for child in running:
        if child.process and child.process.returncode is None:
            try:
                await asyncio.wait_for(child.process.wait(), STOP_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()
                await child.process.wait()


async def supervise(procs: list[Child], ready_check: Callable[[], Awaitable[bool]], ready_banner: str) -> int:
    """Start, watch and stop the processes; the exit code says whether one died (1) or all stopped cleanly (0)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    pumps: dict[str, asyncio.Task[None]] = {}
    for child in procs:
        child.process = await asyncio.create_subprocess_exec(
            *child.argv,
            cwd=ROOT,
            env=child.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        pumps[child.name] = asyncio.create_task(pump(child))
    exits: dict[asyncio.Future[Any], Child] = {asyncio.ensure_future(c.process.wait()): c for c in procs if c.process}
    ready = asyncio.ensure_future(ready_check())
    stopper = asyncio.create_task(stop.wait())
    code = 0
    pending: set[asyncio.Future[Any]] = {*exits, ready, stopper}
    while True:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            print(ready_banner if ready.result() else "Servers did not become ready in time.", flush=True)
            if not ready.result():
                code = 1
                break
        if stopper in done:
            print("\nStopping ...", flush=True)
            break
        died = [exits[t] for t in done if t in exits]
        if died:
            child = died[0]
            assert child.process
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pumps[child.name]), 2.0)  # drain its last words
            print(f"\n{child.name} exited with code {child.process.returncode}; stopping the others.")
            print(f"Last lines from {child.name}:")
            for line in child.tail:
                print(f"    {line}")
            sys.stdout.flush()
            code = 1
            break
    await stop_all(procs)
    for task in [*pending, *pumps.values()]:
        task.cancel()
    print("Stopped." if code == 0 else "Stopped after a failure.", flush=True)
    return code


@dataclass(frozen=True)
class Options:
    """How many processes to start, and where."""

    api_workers: int
    rasa_replicas: int
    rasa_port: int
    startup_seconds: float = STARTUP_SECONDS


def parse_options(argv: Sequence[str] | None) -> Options:
    """`--api-workers N --rasa-replicas M --startup-seconds S` (defaults from API_WORKERS, RASA_REPLICAS,
    RASA_PORT, LAUNCHER_STARTUP_SECONDS)."""
    parser = argparse.ArgumentParser(prog="python -m handoff_api.launcher", description=__doc__)
    parser.add_argument("--api-workers", type=int, default=int(os.environ.get("API_WORKERS", "1")))
    parser.add_argument("--rasa-replicas", type=int, default=int(os.environ.get("RASA_REPLICAS", "1")))
    parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("RASA_PORT", "5005")))
    parser.add_argument(
        "--startup-seconds",
        type=float,
        default=float(os.environ.get("LAUNCHER_STARTUP_SECONDS", str(STARTUP_SECONDS))),
        help="how long every server may take to answer (several Rasa replicas on a busy host take longer)",
    )
    parsed = parser.parse_args(argv)
    if parsed.api_workers < 1 or parsed.rasa_replicas < 1:
        parser.error("--api-workers and --rasa-replicas must be at least 1")
    if parsed.startup_seconds <= 0:
        parser.error("--startup-seconds must be positive")
    return Options(parsed.api_workers, parsed.rasa_replicas, parsed.rasa_port, parsed.startup_seconds)


def main(argv: Sequence[str] | None = None) -> int:
    """Check prerequisites, then supervise."""
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"Invalid settings: {exc}", file=sys.stderr)
        return 2
    options = parse_options(argv)
    missing = [str(p) for p in (RASA_PYTHON, MODEL) if not p.exists()]
    if missing:
        print(f"Missing {', '.join(missing)}: run 'make setup' first.", file=sys.stderr)
        return 2
    if options.api_workers > 1 and not settings.redis_url:
        print(
            "Several API workers share their queues through Redis: set REDIS_URL or use --api-workers 1.",
            file=sys.stderr,
        )
        return 2
    rasa_ports = [options.rasa_port + index for index in range(options.rasa_replicas)]
    for name, host, port in [("API", settings.api_host, settings.api_port)] + [
        ("Rasa", "127.0.0.1", p) for p in rasa_ports
    ]:
        if not port_free(host, port):
            print(
                f"Port {port} for the {name} is already in use; stop what holds it or set "
                f"{'API_PORT' if name == 'API' else 'RASA_PORT'}.",
                file=sys.stderr,
            )
            return 2
    wiring = wire_rasa(settings, rasa_ports)
    return asyncio.run(
        supervise(
            children(settings, wiring, options.api_workers, metrics_directory(options.api_workers)),
            lambda: wait_ready(settings, wiring, options.startup_seconds),
            banner(settings, wiring),
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
