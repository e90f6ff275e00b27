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

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from handoff_api.errors import ActionErrorBody, error_responses

log = logging.getLogger(__name__)

NO_SUCH_ACTION = "no such action"
ACTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A JSON escape of a UTF-16 surrogate: the only way a lone one can reach a call that is valid UTF-8."""


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
    """The decoded call, or 400 for anything but a JSON object of valid Unicode in UTF-8.

    Only a call that escapes a surrogate is encoded again to find a lone one (a pair is an emoji; Rasa escapes
    every non-ASCII character, so Chinese text never needs it).
    """
    try:
        text = body.decode("utf-8")
        call = json.loads(text)
        if SURROGATE_ESCAPE.search(text):
            json.dumps(call, ensure_ascii=False).encode("utf-8")  # lone surrogates cannot be encoded
    except (ValueError, UnicodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the action call is not valid JSON of valid Unicode") from exc
    if not isinstance(call, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the action call must be a JSON object")
    tracker = call.get("tracker")
    if not isinstance(tracker, dict) or not isinstance(tracker.get("sender_id"), str):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the action call needs a tracker with a sender_id")
    for key, kind in (("slots", dict), ("latest_message", dict), ("events", list)):
        if key in tracker and not isinstance(tracker[key], kind):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the tracker's {key} has the wrong type")
    return call


ACTION_CALL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["tracker"],
    "properties": {
        "next_action": {"type": "string"},
        "sender_id": {"type": "string"},
        "tracker": {"type": "object", "required": ["sender_id"], "properties": {"sender_id": {"type": "string"}}},
        "domain": {"type": "object"},
        "version": {"type": "string"},
    },
}
"""The action call as Rasa sends it (documented only: the executor reads it as rasa-sdk does)."""
RESPONSES: dict[int | str, dict[str, Any]] = {
    **error_responses(400, 401, 413, 422),
    404: {"model": ActionErrorBody, "description": "No such action"},
    449: {"model": ActionErrorBody, "description": "The action needs the domain; Rasa sends the call again with it"},
}
TokenQuery = Query(default="", description="the shared action token (Rasa's action endpoint `token`)")


def action_error(code: str, message: str, name: str, status_code: int) -> JSONResponse:
    """The one error body, with the action's name that the Rasa server reads."""
    body = ActionErrorBody(error=code, detail=message, action_name=name)
    return JSONResponse(body.model_dump(), status_code=status_code)


def make_actions_router(executor: ActionExecutor, token: str | None, max_body_bytes: int) -> APIRouter:
    """Routes Rasa calls as its action endpoint (same paths as `rasa run actions`)."""
    router = APIRouter(tags=["actions"])

    def check_token(presented: str) -> None:
        if token is None or not hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8")):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the action endpoint needs the shared action token")

    @router.post("/webhook", responses=RESPONSES, openapi_extra={"requestBody": _request_body()})
    async def run_action(request: Request, token: str = TokenQuery) -> JSONResponse:
        check_token(token)
        action_call = parse_action_call(await read_limited(request, max_body_bytes))
        requested = action_call.get("next_action")
        name = safe_name(requested)
        if not isinstance(requested, str) or requested not in executor.actions:
            log.error("unknown action %s", name)
            return action_error("NotFound", NO_SUCH_ACTION, name, 404)
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as exc:
            return action_error("ActionRejected", exc.message, name, 400)
        except ActionNotFoundException:
            return action_error("NotFound", NO_SUCH_ACTION, name, 404)
        except ActionMissingDomainException as exc:
            return action_error("DomainMissing", exc.message, name, 449)
        return JSONResponse(result.model_dump() if result else None)

    @router.get("/actions", responses=error_responses(401, 422))
    async def list_actions(token: str = TokenQuery) -> list[dict[str, Any]]:
        check_token(token)
        return [item.model_dump() for item in executor.list_actions()]

    return router


def _request_body() -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ACTION_CALL_SCHEMA}}}
