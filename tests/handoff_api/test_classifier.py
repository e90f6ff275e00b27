"""The advisor/service question-type classifier on its labelled set (needs the index `make setup` builds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from handoff_api.classifier import FixedQueueClassifier, NearestEntriesClassifier, load_labelled, main, measure
from knowledge_base.models import Band, Category, FaqEntry, FollowUpQueue, Hit
from knowledge_base.service import FaqService
from routing.models import QueueName

ROOT = Path(__file__).resolve().parents[2]
INDEX = ROOT / "var" / "index"
LABELLED = sorted((ROOT / "routing" / "data").glob("question_types_*.jsonl"))


def _entry(entry_id: str, queue: FollowUpQueue) -> FaqEntry:
    return FaqEntry(entry_id, Category.FINANCE_WIKI, queue, "q", ("a", "b", "c"), "answer")


class FakeSearch:
    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.hits[:k]


def test_the_nearest_entries_outvote_a_crowd_of_weak_ones() -> None:
    hits = [Hit(_entry("a", FollowUpQueue.ADVISOR), 0.95, "x")] + [
        Hit(_entry(f"s{i}", FollowUpQueue.SERVICE), 0.85, "y") for i in range(5)
    ]
    assert NearestEntriesClassifier(FakeSearch(hits)).classify("问题") == QueueName.ADVISOR


def test_no_hits_falls_back_to_the_default_queue() -> None:
    assert NearestEntriesClassifier(FakeSearch([])).classify("?") == QueueName.SERVICE
    assert FixedQueueClassifier(QueueName.ADVISOR).classify("anything") == QueueName.ADVISOR
    assert Band.ANSWER.value == "answer"


def test_a_bad_labelled_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "types.jsonl"
    bad.write_text('{"text": "ok", "queue": "advisor"}\n{"text": "x", "queue": "trader"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"types.jsonl:2"):
        load_labelled([bad])
    assert main(["--index", str(tmp_path / "none"), str(bad)]) == 2


def test_labelled_set_is_large_enough_and_balanced() -> None:
    labelled = load_labelled(LABELLED)
    assert len(labelled) >= 200
    advisor = sum(queue == QueueName.ADVISOR for _, queue in labelled)
    assert 0.35 <= advisor / len(labelled) <= 0.65


@pytest.mark.slow
def test_accuracy_on_the_labelled_set_is_at_least_090() -> None:
    assert INDEX.exists(), "run 'make setup' first: no FAQ index at var/index"
    result = measure(NearestEntriesClassifier(FaqService.load(INDEX)), load_labelled(LABELLED))
    assert result.accuracy >= 0.90, result.confusion
