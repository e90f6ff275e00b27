"""Splitting long texts within WeCom's 2048-byte limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handoff_api.wecom.text import TEXT_MAX_BYTES, split_text, truncate_utf8, utf8_len


def test_short_text_is_one_chunk():
    assert split_text("您好，请问有什么可以帮您？") == ["您好，请问有什么可以帮您？"]


def test_long_chinese_text_splits_on_sentence_ends():
    sentence = "科创板股票的申报数量应当为200股或者以上，超过部分可以1股为单位递增。"
    text = sentence * 40
    chunks = split_text(text)
    assert len(chunks) > 1
    assert "".join(chunks) == text
    assert all(utf8_len(chunk) <= TEXT_MAX_BYTES for chunk in chunks)
    assert all(chunk.endswith("。") for chunk in chunks)


def test_lines_are_kept_whole_when_they_fit():
    lines = [f"第{i}行：融资融券业务需要满足资产和交易经验要求\n" for i in range(200)]
    chunks = split_text("".join(lines), max_bytes=300)
    assert all(chunk.endswith("\n") for chunk in chunks)


def test_a_sentence_without_breaks_is_cut_between_characters():
    text = "长" * 1000  # 3000 bytes, no punctuation at all
    chunks = split_text(text)
    assert [utf8_len(chunk) for chunk in chunks] == [2046, 954]
    assert "".join(chunks) == text


def test_mixed_four_byte_characters_never_break():
    text = "😀" * 600 + "好"
    chunks = split_text(text)
    assert all(utf8_len(chunk) <= TEXT_MAX_BYTES for chunk in chunks)
    assert "".join(chunks) == text


@pytest.mark.parametrize("blank", ["", "   ", "\n\n"])
def test_empty_messages_are_refused(blank):
    with pytest.raises(ValueError):
        split_text(blank)


@given(st.text(min_size=1, max_size=3000).filter(lambda s: s.strip()), st.integers(min_value=4, max_value=600))
def test_chunks_always_fit_and_rejoin_exactly(text, max_bytes):
    chunks = split_text(text, max_bytes)
    assert "".join(chunks) == text
    assert all(0 < utf8_len(chunk) <= max_bytes for chunk in chunks)


def test_truncate_keeps_whole_characters():
    assert truncate_utf8("短标题", 128) == "短标题"
    cut = truncate_utf8("标" * 100, 20)
    assert cut == "标" * 5 + "…" and utf8_len(cut) <= 20
