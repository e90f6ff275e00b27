"""Question-type classifier for routing (advisor vs service), built on the knowledge base.

Routing declares the port (`classify(text) -> QueueName`); this adapter answers it by looking at the
FAQ entries nearest to the question and who takes their follow-ups, with a softmax-weighted vote.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from knowledge_base.models import Hit
from routing.models import QueueName

NEIGHBOURS = 8
TEMPERATURE = 0.02


class HitSearch(Protocol):
    """The part of the FAQ service the classifier uses."""

    def search(self, query: str, k: int = 5) -> list[Hit]: ...


class NearestEntriesClassifier:
    """Votes over the nearest FAQ entries' follow-up queues, each weighted by exp(score / temperature)."""

    def __init__(self, faq: HitSearch, default: QueueName = QueueName.SERVICE) -> None:
        self._faq = faq
        self._default = default

    def classify(self, text: str) -> QueueName:
        """The queue that should take a follow-up on this question."""
        hits = self._faq.search(text, k=NEIGHBOURS)
        if not hits:
            return self._default
        best = max(hit.score for hit in hits)
        votes: dict[QueueName, float] = {}
        for hit in hits:
            queue = QueueName(hit.entry.queue.value)
            votes[queue] = votes.get(queue, 0.0) + math.exp((hit.score - best) / TEMPERATURE)
        return max(votes, key=lambda queue: votes[queue])


@dataclass(frozen=True)
class Accuracy:
    """Classifier accuracy on a labelled set."""

    n: int
    correct: int
    confusion: dict[str, int]

    @property
    def accuracy(self) -> float:
        """Share classified right."""
        return self.correct / self.n if self.n else 0.0


def load_labelled(paths: Iterable[Path]) -> list[tuple[str, QueueName]]:
    """Read JSONL lines {"text": ..., "queue": "advisor"|"service"}; a bad line raises ValueError with file:line."""
    rows: list[tuple[str, QueueName]] = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                rows.append((str(item["text"]), QueueName(item["queue"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return rows


def measure(classifier: NearestEntriesClassifier, labelled: Sequence[tuple[str, QueueName]]) -> Accuracy:
    """Accuracy and the confusion counts (expected->got)."""
    confusion: dict[str, int] = {}
    correct = 0
    for text, expected in labelled:
        got = classifier.classify(text)
        correct += got == expected
        key = f"{expected.value}->{got.value}"
        confusion[key] = confusion.get(key, 0) + 1
    return Accuracy(len(labelled), correct, confusion)


class FixedQueueClassifier:
    """Used only when the FAQ index cannot load: every question goes to one queue (service by default)."""

    def __init__(self, queue: QueueName = QueueName.SERVICE) -> None:
        self._queue = queue

    def classify(self, text: str) -> QueueName:
        """Always the configured queue."""
        return self._queue


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m handoff_api.classifier [--index DIR] FILE...`: accuracy of the question-type classifier."""
    import argparse

    from knowledge_base.service import FaqService

    parser = argparse.ArgumentParser(description="Measure the advisor/service question-type classifier.")
    parser.add_argument("--index", type=Path, default=Path("var/index"), help="FAQ index directory")
    parser.add_argument(
        "files", nargs="*", type=Path, help="labelled JSONL files (default: routing/data/question_types_*.jsonl)"
    )
    args = parser.parse_args(argv)
    files = args.files or sorted(Path("routing/data").glob("question_types_*.jsonl"))
    try:
        labelled = load_labelled(files)
        classifier = NearestEntriesClassifier(FaqService.load(args.index))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    result = measure(classifier, labelled)
    print(f"n={result.n} accuracy={result.accuracy:.4f} confusion={result.confusion}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
