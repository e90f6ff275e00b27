"""Health endpoints: liveness, and readiness (see handoff_api.health_checks for what is checked)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from handoff_api.deps import ContainerDep
from handoff_api.health_checks import run_checks

router = APIRouter(tags=["health"])


class HealthReport(BaseModel):
    """`ok`, `degraded` (soft checks failing) or `unavailable`, and each check's result (never exception text)."""

    status: str
    checks: dict[str, dict[str, Any]]


REPORT: dict[int | str, dict[str, Any]] = {
    200: {"model": HealthReport, "description": "This worker can serve"},
    503: {"model": HealthReport, "description": "A required dependency (database, Redis) does not answer"},
}


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/health/ready", responses=REPORT)
async def ready(container: ContainerDep) -> JSONResponse:
    """200 while this worker can serve (database and Redis answer); `degraded` names what is missing."""
    code, body = await run_checks(container.health_checks)
    return JSONResponse(body, code)


@router.get("/health", responses=REPORT)
async def health(container: ContainerDep) -> JSONResponse:
    """The same report as /health/ready."""
    code, body = await run_checks(container.health_checks)
    return JSONResponse(body, code)
