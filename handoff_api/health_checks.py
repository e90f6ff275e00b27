"""Health checks: hard ones (database, Redis) decide readiness, soft ones (Rasa, index, calendar) only report.

A load balancer keeps an API worker while the database and Redis answer: staff can still serve when
Rasa is down (tier 1 then answers from the API's own index) or the FAQ index is missing, so those
only make the status `degraded`. Responses never carry exception text; the log has the details.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.bot_client import BotClient
from knowledge_base.service import FaqService

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Check:
    """One dependency: how to probe it, and whether readiness depends on it."""

    probe: Probe
    required: bool


def database_check(engine: AsyncEngine) -> Check:
    """The system of record answers a query."""

    async def probe() -> dict[str, Any]:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return {"ok": True, "backend": engine.dialect.name}

    return Check(probe, required=True)


def redis_check(redis: Redis) -> Check:
    """Redis (queues, presence, live events) answers a PING."""

    async def probe() -> dict[str, Any]:
        return {"ok": bool(await redis.ping())}

    return Check(probe, required=True)


def rasa_check(bot: BotClient, replicas: int) -> Check:
    """Every Rasa replica answers with a model loaded (soft: tier 1 answers locally meanwhile)."""

    async def probe() -> dict[str, Any]:
        return {"ok": await bot.ping(), "replicas": replicas}

    return Check(probe, required=False)


def index_check(kb: FaqService | None) -> Check:
    """The FAQ index is loaded (soft: without it tier 1 hands every question to a person)."""

    async def probe() -> dict[str, Any]:
        if kb is None:
            return {"ok": False, "error": "no loadable FAQ index: run 'make setup'"}
        info = kb.info()
        keys = ("entries", "phrasings", "encoder", "version")
        return {"ok": True, **{key: info[key] for key in keys if key in info}}

    return Check(probe, required=False)


def calendar_check(warning: Callable[[date], str | None], today: Callable[[], date]) -> Check:
    """The trading calendar's data reach far enough ahead (soft: operators must update it)."""

    async def probe() -> dict[str, Any]:
        found = warning(today())
        return {"ok": True} if found is None else {"ok": False, "warning": found}

    return Check(probe, required=False)


async def run_checks(checks: dict[str, Check]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of a readiness report."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in checks.items():
        try:
            results[name] = await check.probe()
        except Exception:  # a failing check is a report, not a crash
            log.warning("health check %s failed", name, exc_info=True)
            results[name] = {"ok": False, "error": "unavailable"}
        results[name]["required"] = check.required
    ready = all(result.get("ok") for result in results.values() if result["required"])
    healthy = all(result.get("ok") for result in results.values())
    status = "ok" if healthy else ("degraded" if ready else "unavailable")
    return (200 if ready else 503), {"status": status, "checks": results}
