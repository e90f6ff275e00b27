"""Masking of personal data shown to staff: names, identifiers, and numbers in free text.

Free text (a client's question, a message, a log line) is masked with the one masking function,
knowledge_base.personal_data.mask_personal_data (ID-card, mobile and bank-card numbers); this module is
how the API's edges reach it. Names and identifiers in staff lists and cards use `mask_name` and
`mask_identifier`.
"""

from __future__ import annotations

from collections.abc import Mapping

from knowledge_base.personal_data import mask_personal_data


def mask_name(name: str) -> str:
    """陈晓明 → 陈*明, 林婉 → 林*, 欧阳晓明 → 欧**明: enough for staff to recognise, not to expose."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_identifier(value: str) -> str:
    """Keep the first three and last two characters of an identifier (WeCom ids, phone numbers)."""
    if len(value) <= 5:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def mask_text(text: str) -> str:
    """Free text with every ID-card, mobile and bank-card number masked (110***********123X, 138****5678)."""
    return mask_personal_data(text)


def mask_strings(value: object) -> object:
    """A JSON-like value with `mask_text` applied to every string in it (keys kept)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {key: mask_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_strings(item) for item in value]
    return value
