"""Split long texts into WeCom-sized chunks on sentence, then clause, then character boundaries."""

from __future__ import annotations

import re

TEXT_MAX_BYTES = 2048

_SENTENCE_BREAK = re.compile(r"(?<=[\n。！？!?；;…])|(?<=\.)(?=\s)")
_CLAUSE_BREAK = re.compile(r"(?<=[，,、：:\s])")


def utf8_len(text: str) -> int:
    """Size of text in UTF-8 bytes."""
    return len(text.encode("utf-8"))


def _by_characters(text: str, max_bytes: int) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        char_size = utf8_len(char)
        if size + char_size > max_bytes and current:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += char_size
    if current:
        chunks.append("".join(current))
    return chunks


def _split(text: str, max_bytes: int, level: int) -> list[str]:
    if utf8_len(text) <= max_bytes:
        return [text]
    breaks = (_SENTENCE_BREAK, _CLAUSE_BREAK)
    if level >= len(breaks):
        return _by_characters(text, max_bytes)
    pieces = [piece for piece in breaks[level].split(text) if piece]
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if utf8_len(current + piece) <= max_bytes:
            current += piece
            continue
        if current:
            chunks.append(current)
        if utf8_len(piece) > max_bytes:
            *whole, current = _split(piece, max_bytes, level + 1)
            chunks.extend(whole)
        else:
            current = piece
    if current:
        chunks.append(current)
    return chunks


def split_text(text: str, max_bytes: int = TEXT_MAX_BYTES) -> list[str]:
    """Chunks of at most max_bytes UTF-8 bytes whose concatenation is exactly text."""
    if max_bytes < 4:
        raise ValueError("max_bytes must leave room for any UTF-8 character (>= 4)")
    if not text.strip():
        raise ValueError("refusing to send an empty message")
    return _split(text, max_bytes, 0)


def truncate_utf8(text: str, max_bytes: int, ellipsis: str = "…") -> str:
    """text cut to max_bytes UTF-8 bytes at a character boundary, ending in ellipsis when cut."""
    if utf8_len(text) <= max_bytes:
        return text
    budget = max_bytes - utf8_len(ellipsis)
    return _by_characters(text, budget)[0] + ellipsis if budget > 0 else ""
