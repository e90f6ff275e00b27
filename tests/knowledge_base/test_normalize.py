from __future__ import annotations

import time

import pytest

from knowledge_base.normalize import canonical, fold, simplify


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("科創板權限怎麼開通", "科创板权限怎么开通"),
        ("兩融帳戶", "融资融券账户"),
        ("科創版門檻", "科创板门槛"),
        ("開戶要帶身份證嗎", "开户要带身份证吗"),
    ],
)
def test_traditional_characters_reach_the_domain_rules(text: str, expected: str) -> None:
    assert canonical(text) == expected


def test_simplified_text_is_left_alone_and_folding_is_fast() -> None:
    text = "为什么今天买的股票今天不能卖？"
    assert simplify(text) == text
    started = time.perf_counter()
    for _ in range(2000):
        canonical("科創板和兩融的門檻是多少")
    assert (time.perf_counter() - started) / 2000 < 0.001
