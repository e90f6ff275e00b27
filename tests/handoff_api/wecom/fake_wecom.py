"""A loopback-only fake of the WeCom API (gettoken, message/send, kf/send_msg, kf/sync_msg).

It runs uvicorn in a thread on 127.0.0.1, records every request, can answer the next N API
calls with a chosen errcode, and can go away and come back on the same port.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN_LIFETIME_SECONDS = 7200


@dataclass(frozen=True)
class RecordedCall:
    path: str
    body: dict[str, Any]
    access_token: str


@dataclass
class FakeWeComState:
    corp_id: str
    secret: str
    valid_tokens: set[str] = field(default_factory=set)
    gettoken_calls: int = 0
    calls: list[RecordedCall] = field(default_factory=list)
    forced_errcodes: deque[int] = field(default_factory=deque)
    kf_messages: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self, path: str) -> list[RecordedCall]:
        """Accepted calls to path (forced failures and bad tokens are not in here)."""
        with self.lock:
            return [call for call in self.calls if call.path == path]


class FakeWeCom:
    """Start with start(); stop() makes it go away, start() brings it back on the same port."""

    def __init__(self, corp_id: str = "ww-fake-corp", secret: str = "fake-secret") -> None:
        self.state = FakeWeComState(corp_id=corp_id, secret=secret)
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._app = Starlette(
            routes=[
                Route("/cgi-bin/gettoken", self._gettoken, methods=["GET"]),
                Route("/cgi-bin/message/send", self._api_call, methods=["POST"]),
                Route("/cgi-bin/kf/send_msg", self._api_call, methods=["POST"]),
                Route("/cgi-bin/kf/sync_msg", self._api_call, methods=["POST"]),
            ]
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control -------------------------------------------------------------------------------

    def fail_next(self, errcode: int, times: int = 1) -> None:
        """Answer the next `times` API calls (not gettoken) with errcode."""
        with self.state.lock:
            self.state.forced_errcodes.extend([errcode] * times)

    def expire_tokens(self) -> None:
        """Invalidate every issued token (the next API call gets 42001)."""
        with self.state.lock:
            self.state.valid_tokens.clear()

    def add_kf_message(self, message: dict[str, Any]) -> None:
        with self.state.lock:
            self.state.kf_messages.append(message)

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._socket = sock
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake WeCom server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> FakeWeCom:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- endpoints ------------------------------------------------------------------------------

    async def _gettoken(self, request: Request) -> JSONResponse:
        state = self.state
        with state.lock:
            state.gettoken_calls += 1
            if (
                request.query_params.get("corpid") != state.corp_id
                or request.query_params.get("corpsecret") != state.secret
            ):
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
            token = f"token-{state.gettoken_calls}"
            state.valid_tokens.add(token)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_LIFETIME_SECONDS})

    async def _api_call(self, request: Request) -> JSONResponse:
        body = await request.json()
        token = request.query_params.get("access_token", "")
        state = self.state
        with state.lock:
            if state.forced_errcodes:
                errcode = state.forced_errcodes.popleft()
                return JSONResponse({"errcode": errcode, "errmsg": f"forced {errcode}"})
            if token not in state.valid_tokens:
                return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
            state.calls.append(RecordedCall(request.url.path, body, token))
            if request.url.path == "/cgi-bin/kf/sync_msg":
                return JSONResponse(self._sync_page(body))
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": "fake-msgid"})

    def _sync_page(self, body: dict[str, Any]) -> dict[str, Any]:
        start = int(body.get("cursor") or 0)
        limit = int(body.get("limit") or 1000)
        page = self.state.kf_messages[start : start + limit]
        end = start + len(page)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "next_cursor": str(end),
            "has_more": int(end < len(self.state.kf_messages)),
            "msg_list": page,
        }
