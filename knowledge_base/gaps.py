"""Gaps in the FAQ: clustering the questions tier 1 could not answer, and drafting entries from them
(pure: numpy only, so the API can reuse it).

Clustering is deterministic average-linkage agglomeration on cosine similarity: the two most similar
clusters merge while their mean pairwise similarity is at least the threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

DEFAULT_THRESHOLD = 0.88
MAX_QUESTIONS = 2_000


@dataclass(frozen=True)
class GapQuestion:
    """One unanswered question, how often it was asked, and the human answer given (if any)."""

    text: str
    count: int = 1
    answer: str | None = None


@dataclass(frozen=True)
class Cluster:
    """Questions about one missing topic: ``central`` is the member most similar to the others."""

    members: tuple[GapQuestion, ...]
    central: int
    cohesion: float
    nearest_id: str | None = None
    nearest_score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Times asked: the sum of the members' counts."""
        return sum(member.count for member in self.members)

    @property
    def question(self) -> str:
        return self.members[self.central].text

    @property
    def answers(self) -> list[str]:
        """Distinct human answers, most frequent first."""
        counts: dict[str, int] = {}
        for member in self.members:
            if member.answer:
                counts[member.answer] = counts.get(member.answer, 0) + member.count
        return sorted(counts, key=lambda answer: (-counts[answer], answer))


def cluster_questions(
    questions: Sequence[GapQuestion], vectors: npt.NDArray[np.float32], threshold: float = DEFAULT_THRESHOLD
) -> list[Cluster]:
    """Clusters of ``questions`` (``vectors[i]`` is question i, unit length), largest first."""
    if len(questions) != len(vectors):
        raise ValueError("one vector per question is needed")
    if len(questions) > MAX_QUESTIONS:
        raise ValueError(f"at most {MAX_QUESTIONS} questions can be clustered at once")
    if not questions:
        return []
    similarity = np.asarray(vectors, dtype=np.float64) @ np.asarray(vectors, dtype=np.float64).T
    groups = _agglomerate(similarity, threshold)
    clusters = [_cluster(questions, similarity, members) for members in groups]
    clusters.sort(key=lambda c: (-c.size, -len(c.members), c.question))
    return clusters


def _agglomerate(similarity: npt.NDArray[np.float64], threshold: float) -> list[list[int]]:
    """Average-linkage merging on a similarity matrix; ties break on the lowest indices."""
    count = similarity.shape[0]
    groups: list[list[int]] = [[i] for i in range(count)]
    linkage = similarity.copy()
    np.fill_diagonal(linkage, -np.inf)
    alive = np.ones(count, dtype=bool)
    sizes = np.ones(count)
    partner = np.argmax(linkage, axis=1)  # each live cluster's most similar live cluster
    best = linkage[np.arange(count), partner]
    while alive.sum() > 1:
        a = int(np.argmax(np.where(alive, best, -np.inf)))
        b = int(partner[a])
        if best[a] < threshold:
            break
        a, b = min(a, b), max(a, b)
        merged = (linkage[a] * sizes[a] + linkage[b] * sizes[b]) / (sizes[a] + sizes[b])
        merged[~alive] = -np.inf
        merged[[a, b]] = -np.inf
        linkage[a], linkage[:, a] = merged, merged
        linkage[b], linkage[:, b] = -np.inf, -np.inf
        sizes[a] += sizes[b]
        alive[b] = False
        best[b] = -np.inf
        groups[a] = sorted(groups[a] + groups[b])
        stale = np.flatnonzero(alive & ((partner == a) | (partner == b)))
        for row in [a, *stale.tolist()]:
            partner[row] = int(np.argmax(linkage[row]))
            best[row] = linkage[row, partner[row]]
        gained = alive & (merged > best)
        partner[gained] = a
        best[gained] = merged[gained]
    return [groups[i] for i in np.flatnonzero(alive)]


def _cluster(questions: Sequence[GapQuestion], similarity: npt.NDArray[np.float64], members: list[int]) -> Cluster:
    weights = np.array([questions[i].count for i in members], dtype=np.float64)
    block = similarity[np.ix_(members, members)]
    centrality = block @ weights
    central = int(np.argmax(centrality))
    cohesion = float(block[np.triu_indices(len(members), k=1)].mean()) if len(members) > 1 else 1.0
    return Cluster(tuple(questions[i] for i in members), central, round(cohesion, 4))


def draft_entry(cluster: Cluster, answer: str | None, nearest: dict[str, Any] | None) -> dict[str, Any]:
    """A draft entry in the corpus format for a cluster: the central question, the other questions as
    ``similar``, the given (or most frequent human) answer, category and queue from the nearest entry."""
    others = [member.text for i, member in enumerate(cluster.members) if i != cluster.central]
    chosen = answer if answer is not None else (cluster.answers[0] if cluster.answers else "")
    return {
        "id": None,
        "category": (nearest or {}).get("category"),
        "queue": (nearest or {}).get("queue"),
        "question": cluster.question,
        "similar": list(dict.fromkeys(others)),
        "answer": chosen,
        "tags": [],
        "valid_from": None,
        "valid_to": None,
    }


def cluster_report(cluster: Cluster, examples: int = 5) -> dict[str, Any]:
    """A JSON-ready view of a cluster."""
    return {
        "size": cluster.size,
        "questions": len(cluster.members),
        "cohesion": cluster.cohesion,
        "question": cluster.question,
        "examples": [member.text for member in cluster.members][:examples],
        "answers": cluster.answers[:examples],
        "nearest": (
            {"id": cluster.nearest_id, "score": round(cluster.nearest_score or 0.0, 4)} if cluster.nearest_id else None
        ),
    }
