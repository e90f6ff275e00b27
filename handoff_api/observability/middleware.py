"""Request ids and HTTP metrics, as one pure ASGI middleware (streaming and WebSockets pass untouched).

Every HTTP request and WebSocket connection gets a request id: the caller's `X-Request-ID` when it is sane
(1 to 64 characters of letters, digits and `._:-`), else a new one. It is bound to the log context
(handoff_api.observability.logging) for everything logged while the request is handled, and echoed in the
response's `X-Request-ID` header (and in the WebSocket handshake's answer).

HTTP requests are counted and timed by route template (`/api/v1/conversations/{conversation_id}`), never by
raw path, so ids in paths do not make a new series each; a path no route matches is counted as `unmatched`.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handoff_api.observability.logging import bind_request
from handoff_api.observability.metrics import Metrics

REQUEST_ID_HEADER = "x-request-id"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods counted by name; anything else is counted as `other` (a caller cannot invent new series)."""
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's request id if sane, else a new one."""
    for name, value in headers:
        if name.lower() == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1").strip()
            if _SANE_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The template of the route that served the request (set by the router), or `unmatched`."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return f"{path}/{{path:path}}" if isinstance(route, Mount) else path or "/"


class ObservabilityMiddleware:
    """Binds the request id, echoes it, and counts and times HTTP requests by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope.get("headers", []))
        header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] in {"http.response.start", "websocket.accept"}:
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], header]
                if message["type"] == "http.response.start":
                    status["code"] = int(message["status"])
            await send(message)

        status = {"code": 500}
        started = time.perf_counter()
        bind_request(request_id)
        if scope["type"] == "websocket":
            await self.app(scope, receive, send_with_id)
            return
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._observe(scope, status["code"], time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = str(scope.get("method", ""))
        route, method = route_template(scope), method if method in METHODS else "other"
        self.metrics.http_requests.labels(route=route, method=method, status=str(status)).inc()
        self.metrics.http_duration.labels(route=route, method=method).observe(seconds)
