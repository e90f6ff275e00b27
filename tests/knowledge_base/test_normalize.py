from __future__ import annotations

import pytest

from knowledge_base.normalize import canonical, fold


def test_fold_width_case_and_spaces() -> None:
    assert fold("  ＥＴＦ　是什么？\t\n") == "etf 是什么?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("688开头的股票怎么才能买", "科创板股票怎么才能买"),
        ("买688981要什么权限", "买科创板股票要什么权限"),
        ("300开头的能买吗", "创业板能买吗"),
        ("两融怎么开", "融资融券怎么开"),
        ("怎么打新", "怎么新股申购"),
        ("北证的股票", "北交所的股票"),
        ("逆回购收益", "国债逆回购收益"),
        ("国债逆回购收益", "国债逆回购收益"),
        ("科创版权限", "科创板权限"),
        ("帐户被冻结", "账户被冻结"),
        ("转帐失败", "转账失败"),
    ],
)
def test_domain_words_are_canonicalised(text: str, expected: str) -> None:
    assert canonical(text) == expected


@pytest.mark.parametrize("text", ["6880元", "300元手续费", "3000点", "北证50指数"])
def test_numbers_that_are_not_board_codes_stay(text: str) -> None:
    assert canonical(text) == fold(text)
