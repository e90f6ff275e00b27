"""Personal data in free text: mainland ID-card, mobile and bank-card numbers (pure, standard library).

One place finds and masks them, for every log line, staff view, statistic and learned phrasing.
Masks keep just enough to recognise a number (110***********123X, 138****5678, 6222********1234).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class PersonalDataKind(StrEnum):
    """What a number in a client's text is."""

    ID_CARD = "id_card"
    BANK_CARD = "bank_card"
    MOBILE = "mobile"


@dataclass(frozen=True)
class Found:
    """One piece of personal data: its kind and where it sits in the text."""

    kind: PersonalDataKind
    start: int
    end: int


_SEP = r"[ \-]?"
_PATTERNS: tuple[tuple[PersonalDataKind, re.Pattern[str]], ...] = (
    (
        PersonalDataKind.ID_CARD,
        re.compile(
            r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]"
            r"(?![0-9A-Za-z])"
        ),
    ),
    (PersonalDataKind.BANK_CARD, re.compile(rf"(?<![0-9])\d{{4}}(?:{_SEP}\d{{4}}){{2}}{_SEP}\d{{4,7}}(?![0-9])")),
    (PersonalDataKind.BANK_CARD, re.compile(r"(?<![0-9])\d{16,19}(?![0-9])")),
    (PersonalDataKind.MOBILE, re.compile(rf"(?<![0-9])(?:\+?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}(?![0-9])")),
)
_KEEP = {PersonalDataKind.ID_CARD: (3, 4), PersonalDataKind.BANK_CARD: (4, 4), PersonalDataKind.MOBILE: (3, 4)}


def find_personal_data(text: str) -> list[Found]:
    """Every ID-card, bank-card and mobile number in `text`, in order, never overlapping."""
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            taken.append((start, end))
            found.append(Found(kind, start, end))
    return sorted(found, key=lambda item: item.start)


def has_personal_data(text: str) -> bool:
    """Whether the text carries an ID-card, bank-card or mobile number."""
    return bool(find_personal_data(text))


def mask_number(kind: PersonalDataKind, number: str) -> str:
    """Keep the first and last few digits of a number, star the rest (separators dropped)."""
    digits = re.sub(r"[ \-+]", "", number)
    head, tail = _KEEP[kind]
    if len(digits) <= head + tail:
        return "*" * len(digits)
    return digits[:head] + "*" * (len(digits) - head - tail) + digits[-tail:]


def mask_personal_data(text: str) -> str:
    """The text with every ID-card, bank-card and mobile number masked."""
    return _replace(text, lambda found, number: mask_number(found.kind, number))


def remove_personal_data(text: str) -> str:
    """The text without its personal numbers (what is left to understand the question by)."""
    return _replace(text, lambda _found, _number: " ").strip()


def _replace(text: str, replacement: Callable[[Found, str], str]) -> str:
    pieces: list[str] = []
    cursor = 0
    for found in find_personal_data(text):
        pieces.append(text[cursor : found.start])
        pieces.append(replacement(found, text[found.start : found.end]))
        cursor = found.end
    pieces.append(text[cursor:])
    return "".join(pieces)
