"""Scale: synthetic knowledge bases of many entries, a flat FAISS index against an approximate one (IVF).

Entries are the corpus's phrasing vectors plus small Gaussian perturbations, re-normalised (fixed seed,
no model needed); queries are the eval set's query vectors, searched one at a time."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from knowledge_base.compare_metrics import latency_figures
from knowledge_base.encoders.base import Vectors, normalise_rows

RECALL_K = 10
NOISE = 0.02
SEED = 20261203
IVF_LISTS_PER_ROOT = 4
IVF_MIN_POINTS_PER_LIST = 39
IVF_PROBE_SHARE = 16
IVF_MIN_PROBES = 8

IdArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class IvfParameters:
    """nlist (inverted lists, k-means centroids) and nprobe (lists visited per query)."""

    nlist: int
    nprobe: int


def ivf_parameters(size: int) -> IvfParameters:
    """nlist = 4·√n, capped so that k-means has 39 points per centroid; nprobe = nlist / 16, at least 8
    (and at most nlist)."""
    nlist = max(1, min(round(IVF_LISTS_PER_ROOT * math.sqrt(size)), size // IVF_MIN_POINTS_PER_LIST))
    return IvfParameters(nlist, min(nlist, max(IVF_MIN_PROBES, round(nlist / IVF_PROBE_SHARE))))


def synthesise(base: Vectors, size: int, seed: int = SEED, noise: float = NOISE) -> Vectors:
    """``size`` unit vectors: base rows (each once before any repeats, in a seeded order) plus N(0, noise²)
    per dimension, re-normalised."""
    if base.shape[0] == 0:
        raise ValueError("no base vectors to synthesise from")
    rng = np.random.default_rng(seed)
    repeats = math.ceil(size / base.shape[0])
    picks = np.concatenate([rng.permutation(base.shape[0]) for _ in range(repeats)])[:size]
    vectors = base[picks] + rng.standard_normal((size, base.shape[1])).astype(np.float32) * noise
    return normalise_rows(np.ascontiguousarray(vectors, dtype=np.float32))


def flat_index(vectors: Vectors) -> faiss.Index:
    """Exact inner-product search."""
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def ivf_index(vectors: Vectors, parameters: IvfParameters, seed: int = SEED) -> faiss.Index:
    """IVF-Flat on inner product: k-means over the vectors themselves, then the vectors added."""
    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], parameters.nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.train(vectors)
    index.add(vectors)
    index.nprobe = parameters.nprobe
    return index


def search_one_by_one(index: faiss.Index, queries: Vectors, k: int = RECALL_K) -> tuple[IdArray, list[float]]:
    """Each query searched alone: the ids found and the milliseconds each search took."""
    found = np.full((queries.shape[0], k), -1, dtype=np.int64)
    latencies: list[float] = []
    for i in range(queries.shape[0]):
        query = queries[i : i + 1]
        started = time.perf_counter()
        _, ids = index.search(query, k)
        latencies.append((time.perf_counter() - started) * 1000.0)
        found[i] = ids[0]
    return found, latencies


def recall_at_k(found: IdArray, exact: IdArray) -> float:
    """Mean share of the exact top-k ids that the approximate top-k holds."""
    if found.shape != exact.shape or exact.size == 0:
        raise ValueError("recall needs the same number of results from both searches")
    hits = sum(len(set(a.tolist()) & set(e.tolist()) - {-1}) for a, e in zip(found, exact, strict=True))
    wanted = sum(len(set(e.tolist()) - {-1}) for e in exact)
    return hits / wanted if wanted else 1.0


def memory_mib(index: faiss.Index) -> float:
    """The serialised index's size in MiB (what it holds in memory, near enough)."""
    return float(faiss.serialize_index(index).nbytes) / 2**20


def measure_kind(
    index: faiss.Index, build_seconds: float, found: IdArray, latencies: Sequence[float], exact: IdArray
) -> dict[str, Any]:
    """Latency, recall@k of ``found`` against ``exact``, memory and build time."""
    return {
        **latency_figures(latencies),
        f"recall_at_{RECALL_K}": round(recall_at_k(found, exact), 4),
        "memory_mib": round(memory_mib(index), 3),
        "build_seconds": round(build_seconds, 4),
    }


def measure_size(base: Vectors, size: int, queries: Vectors) -> dict[str, Any]:
    """Flat against IVF on ``size`` synthetic entries."""
    vectors = synthesise(base, size)
    started = time.perf_counter()
    flat = flat_index(vectors)
    flat_seconds = time.perf_counter() - started
    exact, flat_latencies = search_one_by_one(flat, queries)
    parameters = ivf_parameters(size)
    started = time.perf_counter()
    approximate = ivf_index(vectors, parameters)
    ivf_seconds = time.perf_counter() - started
    found, ivf_latencies = search_one_by_one(approximate, queries)
    return {
        "flat": measure_kind(flat, flat_seconds, exact, flat_latencies, exact),
        "approximate": {
            **measure_kind(approximate, ivf_seconds, found, ivf_latencies, exact),
            "nlist": parameters.nlist,
            "nprobe": parameters.nprobe,
        },
    }


def scale_report(base: Vectors, sizes: Sequence[int], queries: Vectors) -> dict[str, Any]:
    """Every size, with how the knowledge bases and indexes were made."""
    return {
        "queries": int(queries.shape[0]),
        "k": RECALL_K,
        "base_vectors": int(base.shape[0]),
        "noise_sigma": NOISE,
        "seed": SEED,
        "flat": "faiss.IndexFlatIP (exact)",
        "approximate": "faiss.IndexIVFFlat, inner product; nlist = 4·√n (at least 39 vectors per list), "
        "nprobe = max(8, nlist/16)",
        "memory": "faiss.serialize_index size",
        "threads": faiss.omp_get_max_threads(),
        "sizes": {str(size): measure_size(base, size, queries) for size in sizes},
    }
