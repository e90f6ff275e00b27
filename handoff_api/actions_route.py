"""Rasa's action endpoint served in-process: rasa-sdk's executor mounted on FastAPI routes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

log = logging.getLogger(__name__)


def make_actions_router(executor: ActionExecutor) -> APIRouter:
    """Routes Rasa calls as its action endpoint (same paths as `rasa run actions`)."""
    router = APIRouter(tags=["actions"])

    @router.post("/webhook")
    async def run_action(request: Request) -> JSONResponse:
        try:
            action_call: Any = await request.json()
        except ValueError as exc:
            raise HTTPException(status_code=400, detail="Invalid body request") from exc
        if not isinstance(action_call, dict):
            raise HTTPException(status_code=400, detail="Invalid body request")
        name = action_call.get("next_action")
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=400)
        except ActionNotFoundException as exc:
            log.error("unknown action %s", name)
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=404)
        except ActionMissingDomainException as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=449)
        return JSONResponse(result.model_dump() if result else None)

    @router.get("/actions")
    async def list_actions() -> list[dict[str, Any]]:
        return [item.model_dump() for item in executor.list_actions()]

    return router
