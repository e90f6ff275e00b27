from __future__ import annotations

import numpy as np
import pytest

from knowledge_base.encoders import normalise_rows
from knowledge_base.gaps import GapQuestion, cluster_questions, cluster_report, draft_entry


def vectors_for(groups: list[int]) -> np.ndarray:
    """One direction per group label with a little noise: same label, similar vectors."""
    rng = np.random.default_rng(0)
    centres = np.eye(8)
    return normalise_rows(np.array([centres[g] + 0.05 * rng.normal(size=8) for g in groups]))


def test_clusters_group_similar_questions_largest_first() -> None:
    questions = [
        GapQuestion("港股打新怎么弄", 1, "请在港股通页面申购"),
        GapQuestion("黄金怎么买", 1),
        GapQuestion("港股新股能申购吗", 3, "请在港股通页面申购"),
        GapQuestion("港股IPO在哪", 1, "暂不支持"),
    ]
    clusters = cluster_questions(questions, vectors_for([0, 1, 0, 0]), threshold=0.9)
    assert [c.size for c in clusters] == [5, 1]
    top = clusters[0]
    assert top.question == "港股新股能申购吗"  # most central by weighted similarity
    assert top.answers == ["请在港股通页面申购", "暂不支持"]
    assert 0.9 <= top.cohesion <= 1.0
    again = cluster_questions(questions, vectors_for([0, 1, 0, 0]), threshold=0.9)
    assert [c.members for c in again] == [c.members for c in clusters]


def test_threshold_one_keeps_every_question_apart_and_input_is_checked() -> None:
    questions = [GapQuestion("a"), GapQuestion("b")]
    assert len(cluster_questions(questions, vectors_for([0, 0]), threshold=1.01)) == 2
    assert cluster_questions([], np.zeros((0, 8), dtype=np.float32)) == []
    with pytest.raises(ValueError, match="one vector"):
        cluster_questions(questions, vectors_for([0]))


def test_draft_entry_takes_the_central_question_the_answer_and_the_nearest_category() -> None:
    questions = [GapQuestion("港股打新怎么弄", 1, "答A"), GapQuestion("港股新股能申购吗", 2, "答B")]
    cluster = cluster_questions(questions, vectors_for([0, 0]), threshold=0.9)[0]
    nearest = {"id": "bg-hk-connect-permission", "category": "business_guide", "queue": "service"}
    draft = draft_entry(cluster, None, nearest)
    assert draft["question"] == cluster.question and draft["answer"] == "答B"
    assert draft["similar"] == ["港股打新怎么弄"]
    assert draft["category"] == "business_guide" and draft["queue"] == "service"
    assert draft["valid_from"] is None and draft["valid_to"] is None
    assert draft_entry(cluster, "人工答案", None)["answer"] == "人工答案"
    report = cluster_report(cluster, examples=1)
    assert report["size"] == 3 and len(report["examples"]) == 1 and report["nearest"] is None
