"""Health endpoints: liveness, and readiness (see handoff_api.health_checks for what is checked)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from handoff_api.deps import ContainerDep
from handoff_api.health_checks import run_checks

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(container: ContainerDep) -> JSONResponse:
    """200 while this worker can serve (database and Redis answer); `degraded` names what is missing."""
    code, body = await run_checks(container.health_checks)
    return JSONResponse(body, code)


@router.get("/health")
async def health(container: ContainerDep) -> JSONResponse:
    """The same report as /health/ready."""
    code, body = await run_checks(container.health_checks)
    return JSONResponse(body, code)
