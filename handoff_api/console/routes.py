"""Console routes: the page, its static assets and the live-event WebSocket."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response, WebSocket

from handoff_api.console.socket import ConsoleConnection
from handoff_api.container import Container
from handoff_api.log_filters import install_token_masking
from handoff_api.realtime import finish_then_cancel
from handoff_api.staff.auth import read_staff_token, session_refusal
from handoff_api.tokens import InvalidToken
from handoff_api.widget.assets import AssetDirectory

STATIC = AssetDirectory(Path(__file__).resolve().parent / "static")
CLOSE_UNAUTHORIZED = 4401

router = APIRouter(tags=["console"])
install_token_masking()  # the staff token travels in the WebSocket URL, which uvicorn logs


@router.get("/console", include_in_schema=False)
async def console_page(request: Request) -> Response:
    """The agent console (one page for every staff role)."""
    return STATIC.respond(request, "console.html", page=True)


@router.get("/console/learning", include_in_schema=False)
async def learning_page(request: Request) -> Response:
    """Knowledge editors' page: review queue, gaps and drafts, index versions."""
    return STATIC.respond(request, "learning.html", page=True)


@router.get("/console/static/{name}", include_in_schema=False)
async def console_asset(name: str, request: Request) -> Response:
    """Scripts and styles of the console."""
    return STATIC.respond(request, name)


@router.websocket("/ws/console")
async def console_socket(websocket: WebSocket, token: str = "") -> None:
    """Live events for a staff member; refused with 4401 when the staff token is missing, invalid, expired or
    revoked (or its member disabled)."""
    container: Container = websocket.app.state.container
    await websocket.accept()
    now = container.clock.now()
    try:
        claims = read_staff_token(container.settings, token, now)
    except InvalidToken as exc:
        await _refuse(websocket, exc.reason)
        return
    staff = await finish_then_cancel(container.routing.find_staff(claims.staff_id))
    reason = await finish_then_cancel(session_refusal(staff, claims, container.refresh_tokens, now))
    if reason is not None or staff is None:
        await _refuse(websocket, reason or "unknown staff member")
        return
    await ConsoleConnection(websocket, container, staff, claims).run()


async def _refuse(websocket: WebSocket, reason: str) -> None:
    await websocket.send_json({"type": "error", "code": "unauthorized", "message": "登录已失效，请重新登录"})
    await websocket.close(CLOSE_UNAUTHORIZED, reason)
