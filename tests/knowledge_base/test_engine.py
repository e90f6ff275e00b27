from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge_base.builder import phrasing_rows
from knowledge_base.corpus import load_corpus
from knowledge_base.engine import encode_batched, entry_document
from knowledge_base.retriever import BLEND_ONLY, ScoringWeights
from knowledge_base.training import Materials, assemble

from .conftest import CharEncoder


@pytest.fixture
def materials(sample_corpus: Path) -> Materials:
    encoder = CharEncoder()
    corpus = load_corpus([sample_corpus])
    rows = phrasing_rows(corpus, index_answers=False)
    vectors = encode_batched(encoder, [row.text for row in rows])
    documents = encode_batched(encoder, [entry_document(e) for e in corpus.entries], passages=True)
    return Materials(encoder, corpus.entries, tuple(rows), vectors, documents)


def test_fused_scores_mix_probability_and_blend(materials: Materials) -> None:
    fused = assemble(materials).engine
    blend = assemble(materials, weights=BLEND_ONLY).engine
    assert blend.classifier is None and fused.classifier is not None
    query = "交易密码记不得了"
    vector = encode_batched(materials.encoder, [query])
    probabilities = fused.probabilities(vector)
    assert probabilities is not None and np.isclose(probabilities.sum(), 1.0, atol=1e-5)
    fused_hit = fused.hits_for([query], limit=5)[0]
    blend_hit = {hit.entry.id: hit.score for hit in blend.hits_for([query], limit=5)[0]}
    position = {entry.id: i for i, entry in enumerate(materials.entries)}
    for hit in fused_hit:
        expected = 0.3 * probabilities[0, position[hit.entry.id]] + 0.7 * blend_hit[hit.entry.id]
        assert hit.score == pytest.approx(expected, abs=1e-5)
    assert fused_hit[0].entry.id == "cs-reset-password" and fused_hit[0].matched


def test_excluded_rows_and_bad_scorer_settings(materials: Materials) -> None:
    engine = assemble(materials).engine
    only_row = int(engine.entry_rows[0][0])
    hits = engine.hits_for_vectors(["q"], materials.row_vectors[[only_row]], exclude_rows=[only_row])[0]
    kcb = next(hit for hit in hits if hit.entry.id == "bg-kcb-threshold")
    assert kcb.matched != materials.rows[only_row].text
    with pytest.raises(ValueError, match="no scorer was given"):
        type(engine)(engine.encoder, engine.phrasing_index, engine.rows, engine.entry_list, engine.document_index)
    other = assemble(
        Materials(
            materials.encoder,
            materials.entries[:4],
            materials.rows[:16],
            materials.row_vectors[:16],
            materials.document_vectors[:4],
        )
    )
    with pytest.raises(ValueError, match="other entries"):
        type(engine)(
            engine.encoder,
            engine.phrasing_index,
            engine.rows,
            engine.entry_list,
            engine.document_index,
            weights=ScoringWeights(),
            classifier=other.classifier,
        )
