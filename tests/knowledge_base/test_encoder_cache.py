"""The query cache in front of an encoder: the same vectors as the encoder, each text encoded once while
it stays among the most recent, passages never cached."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from knowledge_base.encoders.base import Vectors, normalise_rows
from knowledge_base.encoders.cache import CachedEncoder, with_query_cache


class CountingEncoder:
    """A deterministic 4-d encoder that records every batch it is asked to encode."""

    name = "counting"
    dim = 4

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.batches.append(list(texts))
        rows = [[float(len(text)), float(sum(map(ord, text)) % 97), 1.0, float(text.count("股"))] for text in texts]
        return normalise_rows(np.array(rows, dtype=np.float32).reshape(-1, 4))

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        self.batches.append(["passage", *texts])
        return self.encode(texts)


def test_cached_vectors_equal_the_encoders_and_repeats_are_not_encoded() -> None:
    inner = CountingEncoder()
    cached = CachedEncoder(inner, size=8)
    first = cached.encode(["科创板门槛", "融资融券"])
    again = cached.encode(["融资融券", "基金定投", "融资融券"])
    assert np.array_equal(first, CountingEncoder().encode(["科创板门槛", "融资融券"]))
    assert np.array_equal(again, CountingEncoder().encode(["融资融券", "基金定投", "融资融券"]))
    assert inner.batches == [["科创板门槛", "融资融券"], ["基金定投"]]
    assert (cached.hits, cached.misses) == (2, 3)
    assert (cached.name, cached.dim, cached.encode([]).shape) == ("counting", 4, (0, 4))


def test_the_least_recently_used_text_is_dropped_beyond_the_size() -> None:
    inner = CountingEncoder()
    cached = CachedEncoder(inner, size=2)
    for text in ("甲", "乙", "甲", "丙", "甲", "乙"):
        cached.encode([text])
    assert inner.batches == [["甲"], ["乙"], ["丙"], ["乙"]]  # 乙 was the oldest when 丙 came


def test_passages_pass_straight_through_and_vectors_cannot_be_changed() -> None:
    inner = CountingEncoder()
    cached = CachedEncoder(inner, size=4)
    cached.encode_passages(["答案"])
    cached.encode_passages(["答案"])
    assert inner.batches == [["passage", "答案"], ["答案"], ["passage", "答案"], ["答案"]]
    vector = cached.encode(["问题"])
    vector[0, 0] = 99.0  # the caller's copy
    assert cached.encode(["问题"])[0, 0] != 99.0


def test_no_cache_for_size_zero_and_no_double_wrapping() -> None:
    inner = CountingEncoder()
    assert with_query_cache(inner, 0) is inner
    once = with_query_cache(inner, 16)
    assert isinstance(once, CachedEncoder) and with_query_cache(once, 16) is once
    with pytest.raises(ValueError, match="at least one"):
        CachedEncoder(inner, 0)


def test_threads_share_the_cache_safely() -> None:
    cached = CachedEncoder(CountingEncoder(), size=64)
    texts = [f"问题{n % 40}" for n in range(400)]
    results: dict[int, Vectors] = {}

    def work(start: int) -> None:
        for index in range(start, len(texts), 4):
            results[index] = cached.encode([texts[index]])

    threads = [threading.Thread(target=work, args=(start,)) for start in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = CountingEncoder()
    assert all(np.array_equal(results[i], expected.encode([texts[i]])) for i in range(len(texts)))
    assert cached.hits + cached.misses == len(texts)
