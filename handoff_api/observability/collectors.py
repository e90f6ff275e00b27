"""Figures read at scrape time from shared state: the tier-2 queues and their staff, the WeCom backlogs, the index.

Prometheus collectors are synchronous and the reads are not, so /metrics first awaits `ScrapeCollector.refresh()`
(through the routing service's `queue_loads` read use case and the WeCom stores' `backlog`, never raw SQL), and
the registry then renders the snapshot it took. These figures come from Redis and SQL, which every worker
shares: whichever worker a scrape reaches reports the same values. A source that fails is logged and reported as
`tre_scrape_source_up{source} 0`; its series are left out rather than reported as zero.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client.core import GaugeMetricFamily, Metric

from handoff_api.observability.metrics import NAMESPACE
from handoff_api.wecom.outbox import Backlog
from routing.ports import Clock
from routing.service import QueueLoad

log = logging.getLogger(__name__)

INDEX_LABELS = ("encoder", "corpus_hash", "index_kind", "built_at")
HASH_CHARS = 12


class QueueLoadSource(Protocol):
    """The routing service's read use case for queue and staff figures."""

    async def queue_loads(self) -> list[QueueLoad]: ...


class BacklogSource(Protocol):
    """A WeCom retry queue (the outbox or the inbox)."""

    async def backlog(self) -> Backlog: ...


IndexInfo = Callable[[], Mapping[str, Any] | None]
"""The loaded index's description (FaqService.info), or None when no index is loaded."""


@dataclass(frozen=True)
class Sources:
    """Where the scrape-time figures come from; set once the engine has started."""

    routing: QueueLoadSource
    clock: Clock
    index_info: IndexInfo
    backlogs: Mapping[str, BacklogSource] = field(default_factory=dict)
    """WeCom stores by name ("outbox", "inbox"); empty when the channel is off."""


@dataclass(frozen=True)
class Snapshot:
    """What one refresh read."""

    up: dict[str, bool] = field(default_factory=dict)
    queues: list[QueueLoad] = field(default_factory=list)
    backlogs: dict[str, tuple[Backlog, float]] = field(default_factory=dict)
    """Each store's backlog and the age in seconds of its oldest pending row (0 when none)."""
    index: Mapping[str, Any] | None = None


def _gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{NAMESPACE}_{name}", documentation, labels=list(labels))


class ScrapeCollector:
    """A prometheus_client collector over the last snapshot; `refresh` takes a new one."""

    def __init__(self) -> None:
        self._sources: Sources | None = None
        self._snapshot = Snapshot()

    def attach(self, sources: Sources | None) -> None:
        """Read from these sources from now on (None: the engine stopped, report nothing)."""
        self._sources = sources
        self._snapshot = Snapshot()

    async def refresh(self) -> None:
        """Read every source now; a failing one is logged and marked down."""
        sources = self._sources
        if sources is None:
            self._snapshot = Snapshot()
            return
        up: dict[str, bool] = {}
        queues: list[QueueLoad] = []
        try:
            queues = await sources.routing.queue_loads()
            up["routing"] = True
        except Exception as exc:
            log.warning("metrics: reading the queues failed: %s", exc.__class__.__name__)
            up["routing"] = False
        backlogs: dict[str, tuple[Backlog, float]] = {}
        now = sources.clock.now()
        for name, store in sources.backlogs.items():
            try:
                backlog = await store.backlog()
            except Exception as exc:
                log.warning("metrics: reading the WeCom %s failed: %s", name, exc.__class__.__name__)
                up[f"wecom_{name}"] = False
                continue
            oldest = backlog.oldest_pending_at
            backlogs[name] = (backlog, max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
            up[f"wecom_{name}"] = True
        self._snapshot = Snapshot(up, queues, backlogs, sources.index_info())

    def describe(self) -> list[Metric]:
        """Nothing up front: the series depend on what is wired (no name checks against other collectors)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The last snapshot as gauges."""
        snapshot = self._snapshot
        if self._sources is None:
            return
        source_up = _gauge("scrape_source_up", "Whether a scrape-time source answered (1) or failed (0).", ("source",))
        for source, ok in snapshot.up.items():
            source_up.add_metric([source], 1.0 if ok else 0.0)
        yield source_up
        yield from _queue_families(snapshot.queues)
        if snapshot.backlogs:
            yield from _backlog_families(snapshot.backlogs)
        yield from _index_families(snapshot.index)


QUEUE_FIGURES: dict[str, tuple[str, Callable[[QueueLoad], float]]] = {
    "queue_waiting": ("Conversations waiting in a tier-2 queue.", lambda q: q.waiting),
    "queue_oldest_wait_seconds": ("The longest current wait in a tier-2 queue.", lambda q: q.oldest_wait_seconds),
    "staff_online": ("Online staff skilled for a queue.", lambda q: q.staff_online),
    "staff_load": ("Conversations the online staff of a queue serve now.", lambda q: q.load),
    "staff_capacity": ("Total concurrency limit of the online staff of a queue.", lambda q: q.capacity),
}
"""Gauges per tier-2 queue: name, help and how to read it from a QueueLoad."""


def _queue_families(queues: list[QueueLoad]) -> Iterator[Metric]:
    for name, (documentation, value) in QUEUE_FIGURES.items():
        family = _gauge(name, documentation, ("queue",))
        for queue in queues:
            family.add_metric([queue.queue.value], float(value(queue)))
        yield family


def _backlog_families(backlogs: dict[str, tuple[Backlog, float]]) -> Iterator[Metric]:
    pending = _gauge("wecom_backlog", "WeCom messages waiting to be (re)tried, by store (outbox, inbox).", ("store",))
    failed = _gauge("wecom_failed", "WeCom messages given up after their last attempt, kept for review.", ("store",))
    oldest = _gauge("wecom_oldest_pending_seconds", "Age of the oldest pending WeCom message, by store.", ("store",))
    for store, (backlog, age) in backlogs.items():
        pending.add_metric([store], float(backlog.pending))
        failed.add_metric([store], float(backlog.failed))
        oldest.add_metric([store], age)
    yield from (pending, failed, oldest)


def _index_families(info: Mapping[str, Any] | None) -> Iterator[Metric]:
    loaded = _gauge("index_loaded", "Whether this worker has a FAQ index loaded (tier 1 can retrieve).")
    loaded.add_metric([], 1.0 if info else 0.0)
    yield loaded
    if not info:
        return
    version = _gauge(
        "index_info", "The loaded FAQ index: encoder, corpus hash (first 12), kind, build time.", INDEX_LABELS
    )
    version.add_metric([_label(info, name) for name in INDEX_LABELS], 1.0)
    yield version
    entries = _gauge("index_entries", "FAQ entries in the loaded index.")
    entries.add_metric([], float(info.get("entries") or 0))
    yield entries


def _label(info: Mapping[str, Any], name: str) -> str:
    value = info.get(name)
    text = "" if value is None else str(value)
    return text[:HASH_CHARS] if name == "corpus_hash" else text
