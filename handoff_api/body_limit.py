"""A request body size limit for the whole app, as ASGI middleware.

A declared Content-Length above the limit is answered with 413 before the app runs; a chunked (or
under-declared) body is counted as it arrives and refused with 413 as soon as it passes the limit, so
no route ever parses more than the limit. Some paths may have a limit of their own (Rasa's action calls
carry the whole tracker). WebSocket and lifespan traffic pass through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException, status
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handoff_api.errors import CODE_BY_STATUS, ErrorBody

TOO_LARGE = status.HTTP_413_CONTENT_TOO_LARGE


def too_large_message(max_bytes: int) -> str:
    """The 413's detail: it names the limit and the setting."""
    return f"the request body is larger than {max_bytes} bytes (MAX_BODY_BYTES)"


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the limit; the app's HTTP error handler answers 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(TOO_LARGE, too_large_message(max_bytes))


class BodyLimitMiddleware:
    """Refuse request bodies above `max_bytes` (or a path's own limit in `per_path`) with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int, per_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(limit, scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:  # the app answered before reading all of the body; nothing more to say
                return
            await _refuse(limit, scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    body = ErrorBody(error=CODE_BY_STATUS[TOO_LARGE], detail=too_large_message(limit))
    response = JSONResponse(body.model_dump(), status_code=TOO_LARGE, headers={"Connection": "close"})
    await response(scope, receive, send)
