"""GET /metrics in Prometheus' text format; with METRICS_TOKEN set, only for `Authorization: Bearer <token>`.

Operators keep /metrics off the public proxy either way (it tells how busy the branch is); the token guards
it where the scraper reaches the API over a network it shares with others.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from handoff_api.observability.collectors import ScrapeCollector
from handoff_api.observability.metrics import Metrics

router = APIRouter(tags=["observability"])


@dataclass
class Observability:
    """One app's metrics and its scrape-time collector (on app.state.observability)."""

    metrics: Metrics
    scraped: ScrapeCollector
    token: str | None = None
    """METRICS_TOKEN: required as a bearer token when set."""

    @classmethod
    def create(cls, token: str | None) -> Observability:
        """Fresh metrics with the scrape-time collector registered."""
        metrics, scraped = Metrics(), ScrapeCollector()
        metrics.registry.register(scraped)
        return cls(metrics, scraped, token)

    def allows(self, authorization: str | None) -> bool:
        """Whether the Authorization header grants access."""
        if self.token is None:
            return True
        scheme, _, presented = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), self.token.encode())


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Every metric of this app (all workers' in multiprocess mode), scrape-time figures read now."""
    observability: Observability = request.app.state.observability
    if not observability.allows(request.headers.get("authorization")):
        raise HTTPException(401, "a valid metrics token is required", headers={"WWW-Authenticate": "Bearer"})
    await observability.scraped.refresh()
    registry = observability.metrics.scrape_registry(observability.scraped)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
