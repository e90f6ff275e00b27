"""The shipped corpus and eval set: they validate, meet the counts, and retrieval meets the targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.builder import BuildOptions, build
from knowledge_base.corpus import category_counts, load_corpus
from knowledge_base.evaluation import load_queries, run_queries, summarise
from knowledge_base.models import Category
from knowledge_base.normalize import fold
from knowledge_base.service import FaqService

DATA = Path(__file__).resolve().parents[2] / "knowledge_base" / "data"
FAQ = DATA / "faq"
QUERIES = DATA / "eval" / "queries.jsonl"


def test_one_file_per_category_and_counts() -> None:
    corpus = load_corpus([FAQ])
    assert sorted(p.stem for p in FAQ.glob("*.yml")) == sorted(c.value for c in Category)
    assert len(corpus.entries) >= 300
    counts = category_counts(corpus.entries)
    assert all(count >= 30 for count in counts.values()), counts
    thin = [e.id for e in corpus.entries if len(e.similar) < 3]
    assert thin == []
    for path in FAQ.glob("*.yml"):
        assert {e.category.value for e in load_corpus([path]).entries} == {path.stem}


def test_eval_set_shape() -> None:
    corpus = load_corpus([FAQ])
    queries = load_queries(QUERIES, {e.id for e in corpus.entries})
    assert len(queries) >= 300
    assert sum(q.expected_id is None for q in queries) >= 50
    phrasings = {fold(p) for e in corpus.entries for p in e.phrasings}
    assert [q.query for q in queries if fold(q.query) in phrasings] == []


def test_eval_set_is_the_two_parts_concatenated() -> None:
    parts = [(DATA / "eval" / name).read_text(encoding="utf-8") for name in ("part_a.jsonl", "part_b.jsonl")]
    lines = [line for part in parts for line in part.splitlines() if line.strip()]
    assert [line for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()] == lines


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_automatic_bands_meet_the_targets(tmp_path: Path) -> None:
    """Built WITHOUT the labelled file (as a held-out corpus would be), then evaluated on it. The automatic
    bands favour suggestions over risky answers: few wrong answers and off-topic answers, most questions
    resolvable in tier 1 (answered right or the right entry suggested)."""
    out = tmp_path / "index"
    build([FAQ], out, BuildOptions(), log=lambda _: None)
    service = FaqService.load(out)
    queries = load_queries(QUERIES, {e.id for e in service.entries})
    summary = summarise(run_queries(service.retrieve, queries))
    assert summary["top1"] >= 0.93, summary
    assert summary["tier1_resolvable"] >= 0.95, summary
    assert summary["answered_rate"] >= 0.5, summary
    assert summary["answered_wrong"] <= 0.02, summary
    assert summary["answered_precision"] >= 0.97, summary
    assert summary["oos_answered"] <= 0.03, summary
