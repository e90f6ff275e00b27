"""Widget routes: the embeddable script, the demo page, dev-only demo tokens and the WebSocket."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import logging
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response, WebSocket
from pydantic import BaseModel, Field
from starlette.websockets import WebSocketDisconnect

from handoff_api.client_tokens import InvalidClientToken, issue_client_token, read_client_token
from handoff_api.container import Container
from handoff_api.deps import ContainerDep
from handoff_api.errors import error_responses
from handoff_api.inputs import CleanText, RequestBody
from handoff_api.log_filters import install_token_masking
from handoff_api.realtime import finish_then_cancel
from handoff_api.widget import envelopes
from handoff_api.widget.assets import AssetDirectory
from handoff_api.widget.connection import WidgetConnection
from handoff_api.widget.runtime import WidgetLimits, WidgetRuntime
from routing.directory_import import DEMO_CLIENTS_CSV
from routing.errors import Forbidden
from routing.models import Channel, Conversation

log = logging.getLogger(__name__)

STATIC = AssetDirectory(Path(__file__).resolve().parent / "static")
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_REPLACED = 4409
"""The client opened more widget sockets than WIDGET_MAX_SOCKETS_PER_CLIENT: the oldest is closed."""
MAX_ID_CHARS = 64

router = APIRouter(tags=["widget"])
install_token_masking()  # the widget's token travels in the WebSocket URL, which uvicorn logs


class DemoTokenRequest(RequestBody):
    """Which demo client the demo page acts as."""

    client_id: CleanText = Field(min_length=1, max_length=MAX_ID_CHARS)


class DemoToken(BaseModel):
    """A client token for the demo page."""

    token: str
    client_id: str
    expires_in: int


class DemoClient(BaseModel):
    """A directory client the demo page can pick."""

    id: str
    name: str
    tier: str
    vip: bool
    branch: str


def _require_development(container: Container) -> None:
    if not container.settings.is_development:
        raise HTTPException(404, "Not Found")


@functools.cache
def demo_client_ids() -> frozenset[str]:
    """The shipped demo clients (routing/data/demo_clients.csv): the only clients demo tokens are issued for."""
    rows = csv.DictReader(io.StringIO(DEMO_CLIENTS_CSV.read_text(encoding="utf-8")))
    return frozenset(row["id"].strip() for row in rows if row.get("id"))


@router.get("/widget/{name}", include_in_schema=False)
async def widget_asset(name: str, request: Request) -> Response:
    """widget.js and the modules it imports (widget-*.js), widget.css, and the demo page's script and style.

    Host pages on other origins embed widget.js with a plain script tag; the modules it imports are fetched
    with CORS, so these public files are readable from any origin (no credentials are involved).
    """
    response = STATIC.respond(request, name)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@router.get("/demo", include_in_schema=False)
async def demo_page(request: Request, container: ContainerDep) -> Response:
    """The demo client app (development mode only)."""
    _require_development(container)
    return STATIC.respond(request, "demo.html", page=True)


@router.get("/api/v1/widget/demo-clients", responses=error_responses(404))
async def demo_clients(container: ContainerDep) -> list[DemoClient]:
    """The demo clients in the directory, for the demo page's picker (development mode only)."""
    _require_development(container)
    found = [await container.routing.find_client(client_id) for client_id in sorted(demo_client_ids())]
    return [DemoClient(id=c.id, name=c.name, tier=c.tier, vip=c.vip, branch=c.branch) for c in found if c]


@router.post("/api/v1/widget/demo-token", responses=error_responses(400, 404, 413, 422))
async def demo_token(body: DemoTokenRequest, container: ContainerDep) -> DemoToken:
    """A client token for a demo client (development mode only; in production the client app signs it)."""
    _require_development(container)
    if body.client_id not in demo_client_ids() or await container.routing.find_client(body.client_id) is None:
        raise HTTPException(404, "not a demo client: demo tokens are issued for the shipped demo clients only")
    settings = container.settings
    token = issue_client_token(settings, body.client_id, container.clock.now())
    return DemoToken(token=token, client_id=body.client_id, expires_in=settings.client_token_minutes * 60)


def widget_runtime(websocket: WebSocket, container: Container) -> WidgetRuntime:
    """The process's shared widget state (rate buckets, recent message ids), created on first use."""
    runtime: WidgetRuntime | None = getattr(websocket.app.state, "widget_runtime", None)
    if runtime is None:
        runtime = WidgetRuntime(WidgetLimits.for_chars(container.settings.max_message_chars))
        websocket.app.state.widget_runtime = runtime
    return runtime


async def open_conversation(container: Container, client_id: str, requested_id: str | None) -> Conversation:
    """The conversation asked for if it is the client's and open, else the client's open widget conversation,
    else a new one (one open widget conversation per client); Forbidden if the one asked for is another's."""
    if requested_id:
        existing = await container.routing.resume_conversation(client_id, requested_id[:MAX_ID_CHARS])
        if existing is not None:
            return existing
    return (await container.routing.open_conversation(client_id, Channel.WIDGET)).conversation


async def _refuse(websocket: WebSocket, code: int, reason: str, message: str) -> None:
    await websocket.send_json(envelopes.error("unauthorized" if code == CLOSE_UNAUTHORIZED else "forbidden", message))
    await websocket.close(code, reason)


@router.websocket("/ws/widget")
async def widget_socket(websocket: WebSocket, token: str = "", conversation_id: str | None = None) -> None:
    """One client session; refused with 4401 (bad/expired token) or 4403 (another client's conversation).

    A session whose token expires is closed with 4401 "token expired" after an `error` envelope with code
    `token_expired`; the widget then asks its host page for a fresh token and resumes where it was.
    """
    container: Container = websocket.app.state.container
    await websocket.accept()
    try:
        identity = read_client_token(container.settings, token, container.clock.now())
    except InvalidClientToken as exc:
        await _refuse(websocket, CLOSE_UNAUTHORIZED, exc.reason, "身份验证失败或已过期，请重新进入。")
        return
    client_id = identity.client_id
    if await finish_then_cancel(container.routing.find_client(client_id)) is None:
        await _refuse(websocket, CLOSE_UNAUTHORIZED, "unknown client", "身份验证失败，请重新进入。")
        return
    try:
        conversation = await finish_then_cancel(open_conversation(container, client_id, conversation_id))
    except Forbidden:
        await _refuse(websocket, CLOSE_FORBIDDEN, "conversation belongs to another client", "无权访问该会话。")
        return
    runtime = widget_runtime(websocket, container)
    cap = container.settings.widget_max_sockets_per_client
    for oldest in runtime.admit(conversation.client_id, websocket, cap):
        await _replaced(oldest)
    try:
        await WidgetConnection(websocket, container, runtime, conversation, expires_at=identity.expires_at).run()
    finally:
        runtime.release(conversation.client_id, websocket)


async def _replaced(socket: object) -> None:
    """Close a client's oldest socket beyond the cap: the newest session wins (a new tab or device)."""
    if not isinstance(socket, WebSocket):
        return
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # it may be closing already
        await socket.send_json(envelopes.error("session_replaced", "您已在其他窗口打开会话，此窗口已断开。"))
        await socket.close(CLOSE_REPLACED, "replaced by a newer session")
