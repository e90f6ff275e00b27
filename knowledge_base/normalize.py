"""Text normalisation: width/case/space folding, Traditional-to-Simplified folding and the brokerage's
domain-word table (pure)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import opencc

_SPACES = re.compile(r"\s+")

# Domain aliases and common typos, rewritten to the canonical term before encoding.
# Order matters: typos first, then aliases. Patterns run on folded (NFKC, lower-case) text.
DOMAIN_RULES: tuple[tuple[str, str], ...] = (
    # typos
    (r"帐", "账"),
    (r"科创版", "科创板"),
    (r"创业版", "创业板"),
    (r"北交易所", "北交所"),
    (r"冻洁", "冻结"),
    (r"密玛", "密码"),
    # board codes: 688 = STAR market, 300/301 = ChiNext
    (r"(?<![\d.])688\d{3}(?![\d.])", "科创板股票"),
    (r"(?<![\d.])30[01]\d{3}(?![\d.])", "创业板股票"),
    (r"(?<![\d.])688(?:开头|打头)?的?(?![\d.万元块%])", "科创板"),
    (r"(?<![\d.])30[01](?:开头|打头)的?", "创业板"),
    (r"(?<![\d.])30[01](?=的股|的票|股票|个股|权限)", "创业板"),
    # market nicknames
    (r"两融", "融资融券"),
    (r"打新股?", "新股申购"),
    (r"申购新股", "新股申购"),
    (r"北证(?!50)", "北交所"),
    (r"(?<!国债)逆回购", "国债逆回购"),
    (r"(?<!可)转债", "可转债"),
    (r"基金定投|定投基金", "定投"),
)

_COMPILED_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement) for pattern, replacement in DOMAIN_RULES
)

# Version of the normalisation (the table above and the script folding): part of the index metadata
# so a change forces a rebuild.
NORMALISER_VERSION = "2"

# Traditional to Simplified characters (OpenCC 't2s'); built once, it converts in about a microsecond.
_TO_SIMPLIFIED = opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """Strip, collapse spaces, full-width to half-width (NFKC) and lower-case."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _SPACES.sub(" ", folded).strip()


def simplify(text: str) -> str:
    """Traditional Chinese characters folded to Simplified ones (Simplified text is left as it is)."""
    return str(_TO_SIMPLIFIED.convert(text))


def canonical(text: str) -> str:
    """Fold ``text``, convert Traditional to Simplified characters, then rewrite domain aliases and
    typos to canonical terms."""
    result = simplify(fold(text))
    for pattern, replacement in _COMPILED_RULES:
        result = pattern.sub(replacement, result)
    return result


def canonical_all(texts: Sequence[str]) -> list[str]:
    """:func:`canonical` over a batch."""
    return [canonical(text) for text in texts]
