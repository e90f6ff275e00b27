"""A real uvicorn server with the real app (create_app) and the fake bot, on a free loopback port, in a thread."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from handoff_api.container import Container
from handoff_api.main import create_app
from tests.handoff_api.widget.support import FakeBot, app_settings, sqlite_url
from tests.net import free_port

T = TypeVar("T")
ROUTING_ENVIRONMENT = {"ROUTING_ALWAYS_OPEN": "true", "ROUTING_PRESENCE_TTL_SECONDS": "3600"}


def build_real_app(database: Path, bot: FakeBot) -> FastAPI:
    """create_app (the composition root, with the widget and console routers) with the fake bot."""
    return create_app(app_settings(database_url=sqlite_url(database)), bot=bot)


@dataclass
class LiveServer:
    """One running server; `restart()` stops it and starts a fresh app on the same port and database."""

    database: Path
    bot: FakeBot = field(default_factory=FakeBot)
    port: int = field(default_factory=free_port)
    app: FastAPI | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def container(self) -> Container:
        assert self.app is not None
        container: Container = self.app.state.container
        return container

    def start(self) -> None:
        for name, value in ROUTING_ENVIRONMENT.items():
            os.environ[name] = value
        self.app = build_real_app(self.database, self.bot)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._server.started:
                try:
                    if httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        raise AssertionError("the API server did not start")

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)
        for name in ROUTING_ENVIRONMENT:
            os.environ.pop(name, None)

    def restart(self) -> None:
        self.stop()
        self.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        """Run a coroutine on the server's event loop (to set up presence, inspect the record...)."""
        assert self._server is not None and self._server.servers
        loop = self._server.servers[0].get_loop()
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)
