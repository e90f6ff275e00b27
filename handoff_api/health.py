"""Health endpoints: liveness, and readiness of Rasa, the FAQ index and the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from handoff_api.deps import ContainerDep

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/health")
async def health(container: ContainerDep) -> JSONResponse:
    """Each dependency's state; 200 when all are ok, 503 otherwise."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in container.health_checks.items():
        try:
            results[name] = await check()
        except Exception as exc:  # a failing check is a report, not a crash
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    healthy = all(result.get("ok") for result in results.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", "checks": results}, 200 if healthy else 503)
