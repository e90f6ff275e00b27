"""Masking of personal data shown to staff (console cards, WeCom notifications)."""

from __future__ import annotations


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
