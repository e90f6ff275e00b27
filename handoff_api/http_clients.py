"""HTTP clients of one connection each, one lent to every call (or session) in flight.

httpcore 1.0's connection pool walks every connection it holds and every request it queues each time a request
starts and each time a response is closed. One client holding a hundred connections to Rasa spent a tenth of the
API's Python time at a hundred turns in flight on that walk alone, and the benchmark's harness, with one client
for a hundred virtual clients, spent more of its CPU there than in anything else. A client of one connection
walks one.

A caller takes an idle client for the origin it calls (the most recently used first, whose kept-alive connection
is the likeliest still open) or a new one, and gives it back when done. `limit` caps the clients in use at once:
more callers wait their turn in order. The clients share one TLS context: httpx builds one per client otherwise,
loading every CA certificate, about 23 ms of CPU per client made.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx


class OneConnectionClients:
    """Lends each caller an httpx client of one connection for the origin it calls."""

    def __init__(self, limit: int | None = None, keepalive_seconds: float = 5.0, **client_options: Any) -> None:
        """`limit` caps the clients in use; an idle connection is kept `keepalive_seconds` (httpx's 5 s by default);
        `client_options` are httpx.AsyncClient's (timeout, transport...)."""
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        self._limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=keepalive_seconds)
        if "verify" not in client_options:  # built once, for every client made
            client_options["verify"] = httpx.create_ssl_context()
        self._options = client_options
        self._idle: dict[str, list[httpx.AsyncClient]] = {}
        self._made: list[httpx.AsyncClient] = []
        self._gate = asyncio.Semaphore(limit) if limit is not None else None

    @contextlib.asynccontextmanager
    async def one(self, origin: str = "") -> AsyncIterator[httpx.AsyncClient]:
        """A client for one call (or session) to `origin`, back to the idle ones afterwards."""
        async with self._gate if self._gate is not None else contextlib.nullcontext():
            idle = self._idle.setdefault(origin, [])
            http = idle.pop() if idle else self._make()
            try:
                yield http
            finally:
                idle.append(http)

    def _make(self) -> httpx.AsyncClient:
        http = httpx.AsyncClient(limits=self._limits, **self._options)
        self._made.append(http)
        return http

    @property
    def made(self) -> int:
        """How many clients were made (per origin, the most calls ever in flight at once)."""
        return len(self._made)

    async def aclose(self) -> None:
        """Close every client made."""
        await asyncio.gather(*(http.aclose() for http in self._made))
        self._made.clear()
        self._idle.clear()
