"""Finding and masking ID-card, mobile and bank-card numbers."""

from __future__ import annotations

import pytest

from knowledge_base.personal_data import (
    PersonalDataKind,
    find_personal_data,
    has_personal_data,
    mask_personal_data,
    remove_personal_data,
)

K = PersonalDataKind


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("我的手机号13812345678，身份证110101199003071234", [K.MOBILE, K.ID_CARD]),
        ("身份证号11010119900307123X", [K.ID_CARD]),
        ("卡号 6222 0212 3456 7890 123", [K.BANK_CARD]),
        ("银行卡6222021234567890123绑定不了", [K.BANK_CARD]),
        ("电话 +86 138-1234-5678", [K.MOBILE]),
        ("138 1234 5678", [K.MOBILE]),
    ],
)
def test_personal_numbers_are_found(text: str, kinds: list[PersonalDataKind]) -> None:
    assert [found.kind for found in find_personal_data(text)] == kinds


@pytest.mark.parametrize(
    "text",
    ["688981的票怎么开权限", "300750涨了5%", "佣金万2.5", "委托单号20261201", "一共12345678元", "2026年12月1日"],
)
def test_stock_codes_amounts_and_dates_are_not_personal_data(text: str) -> None:
    assert not has_personal_data(text)


def test_masks_keep_only_a_few_digits() -> None:
    masked = mask_personal_data("手机13812345678 身份证110101199003071234 卡6222021234567890123")
    assert masked == "手机138****5678 身份证110***********1234 卡6222***********0123"
    assert mask_personal_data("没有号码的句子") == "没有号码的句子"


def test_removing_personal_data_leaves_the_question() -> None:
    assert remove_personal_data("我的手机号13812345678换了怎么改") == "我的手机号 换了怎么改"
    assert remove_personal_data("13812345678") == ""
