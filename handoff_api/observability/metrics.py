"""The API's Prometheus metrics: one registry per app, holding the metric objects this process updates.

Counters and histograms are updated where things happen (the HTTP middleware, the bot wrappers, the event
bus wrapper in handoff_api.observability.instrument). Figures that live in shared state (queue lengths,
staff load, the WeCom backlogs, the index) are read at scrape time by handoff_api.observability.collectors.

Several API workers (`uvicorn --workers N`, as the launcher runs them) share one port, so a scrape reaches
any one of them: with PROMETHEUS_MULTIPROC_DIR set (the launcher sets it for N > 1) every worker writes its
counters to files there and /metrics sums them over all workers (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from routing.service.reconcile import Repairs

NAMESPACE = "tre"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
NO_BAND = "none"
"""The band of a bot turn that neither answered, suggested nor escalated (a greeting, a thank-you)."""
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RASA_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def multiprocess_dir() -> str | None:
    """The directory of prometheus_client's multiprocess mode, when the launcher runs several workers."""
    return os.environ.get(MULTIPROC_ENV) or None


@dataclass
class Metrics:
    """The metric objects of one app (tests build many apps in one process: each gets its own registry)."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))
    http_requests: Counter = field(init=False)
    http_duration: Histogram = field(init=False)
    bot_turns: Counter = field(init=False)
    rasa_duration: Histogram = field(init=False)
    escalations: Counter = field(init=False)
    ladder_steps: Counter = field(init=False)
    agent_joins: Counter = field(init=False)

    def __post_init__(self) -> None:
        registry = self.registry
        self.http_requests = Counter(
            "http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route template and method.",
            ["route", "method"],
            namespace=NAMESPACE,
            registry=registry,
            buckets=HTTP_BUCKETS,
        )
        self.bot_turns = Counter(
            "bot_turns",
            "Client turns tier 1 answered, by band (answer, suggest, escalate, none).",
            ["band"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.rasa_duration = Histogram(
            "rasa_request_duration_seconds",
            "Calls to the Rasa server's REST channel, by outcome (ok, unavailable, error).",
            ["outcome"],
            namespace=NAMESPACE,
            registry=registry,
            buckets=RASA_BUCKETS,
        )
        self.escalations = Counter(
            "escalations",
            "Conversations handed to people: tier 2 by queue, tier 3 as queue 'responder', by reason.",
            ["reason", "queue", "tier"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.ladder_steps = Counter(
            "responder_ladder_steps",
            "Tier-3 conversations moved along the responder ladder (responder, backup, duty manager), by step.",
            ["step"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.agent_joins = Counter(
            "agent_joins",
            "A person started serving a conversation (claim, auto-assignment, transfer, responder), by tier.",
            ["tier"],
            namespace=NAMESPACE,
            registry=registry,
        )

        self.store_repairs = Counter(
            "store_repairs",
            "Disagreements of the fast stores with the record, repaired by the routing tick, by kind.",
            ["kind"],
            namespace=NAMESPACE,
            registry=registry,
        )

    def count_repairs(self, repairs: Repairs) -> None:
        """Count one tick's repairs by kind (queue entries restored, dropped, moved; load counters set)."""
        for kind in fields(repairs):
            if count := getattr(repairs, kind.name):
                self.store_repairs.labels(kind=kind.name).inc(count)

    def scrape_registry(self, scraped: Collector) -> CollectorRegistry:
        """The registry /metrics renders: this one, or in multiprocess mode every worker's files summed.

        `scraped` (registered here by the caller, once) reads shared state at scrape time: any worker may answer."""
        directory = multiprocess_dir()
        if directory is None:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        registry.register(scraped)
        return registry


def band_of(payloads: Iterable[Mapping[str, Any]]) -> str:
    """The band of one bot turn: the first answer, suggestions or escalation among its payloads."""
    for payload in payloads:
        kind = payload.get("type")
        if kind == "escalate":
            return "escalate"
        band = payload.get("band")
        if kind in {"answer", "suggestions"} and isinstance(band, str):
            return band
    return NO_BAND
