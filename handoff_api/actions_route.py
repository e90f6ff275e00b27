"""Rasa's action endpoint served in-process: rasa-sdk's executor mounted on FastAPI routes.

Only the Rasa server may call it: it presents the shared action token (Rasa's action-endpoint
`token` setting, sent as `?token=`), compared in constant time. Calls are size-limited, and no
user-controlled string reaches the logs raw.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

log = logging.getLogger(__name__)

ACTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def safe_name(value: object) -> str:
    """An action name fit for a log line, or a placeholder."""
    return value if isinstance(value, str) and ACTION_NAME.fullmatch(value) else "<invalid action name>"


async def read_limited(request: Request, max_bytes: int) -> bytes:
    """The request body, or 413 as soon as it is longer than `max_bytes`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"action calls are limited to {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"action calls are limited to {max_bytes} bytes")
    return bytes(body)


def parse_action_call(body: bytes) -> dict[str, Any]:
    """The decoded call, or 400 for anything but a JSON object of valid Unicode."""
    try:
        call = json.loads(body)
        json.dumps(call, ensure_ascii=False).encode("utf-8")  # lone surrogates cannot be encoded
    except (ValueError, UnicodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the action call is not valid JSON") from exc
    if not isinstance(call, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the action call must be a JSON object")
    tracker = call.get("tracker")
    if not isinstance(tracker, dict) or not isinstance(tracker.get("sender_id"), str):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the action call needs a tracker with a sender_id")
    for key, kind in (("slots", dict), ("latest_message", dict), ("events", list)):
        if key in tracker and not isinstance(tracker[key], kind):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the tracker's {key} has the wrong type")
    return call


def make_actions_router(executor: ActionExecutor, token: str | None, max_body_bytes: int) -> APIRouter:
    """Routes Rasa calls as its action endpoint (same paths as `rasa run actions`)."""
    router = APIRouter(tags=["actions"])

    def check_token(presented: str) -> None:
        if token is None or not hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8")):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the action endpoint needs the shared action token")

    @router.post("/webhook")
    async def run_action(request: Request) -> JSONResponse:
        check_token(request.query_params.get("token", ""))
        action_call = parse_action_call(await read_limited(request, max_body_bytes))
        requested = action_call.get("next_action")
        name = safe_name(requested)
        if not isinstance(requested, str) or requested not in executor.actions:
            log.error("unknown action %s", name)
            return JSONResponse({"error": "no such action", "action_name": name}, status_code=404)
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as exc:
            return JSONResponse({"error": exc.message, "action_name": name}, status_code=400)
        except ActionNotFoundException:
            return JSONResponse({"error": "no such action", "action_name": name}, status_code=404)
        except ActionMissingDomainException as exc:
            return JSONResponse({"error": exc.message, "action_name": name}, status_code=449)
        return JSONResponse(result.model_dump() if result else None)

    @router.get("/actions")
    async def list_actions(request: Request) -> list[dict[str, Any]]:
        check_token(request.query_params.get("token", ""))
        return [item.model_dump() for item in executor.list_actions()]

    return router
