"""Masking of personal data shown to staff: names, identifiers and numbers in free text."""

from __future__ import annotations

import pytest

from handoff_api.masking import mask_identifier, mask_name, mask_strings, mask_text
from knowledge_base.personal_data import mask_personal_data


@pytest.mark.parametrize(
    ("name", "masked"), [("陈晓明", "陈*明"), ("林婉", "林*"), ("欧阳晓明", "欧**明"), ("李", "*"), (" 王五 ", "王*")]
)
def test_names_keep_first_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("value", "masked"), [("wm_demo_c10001", "wm_*********01"), ("13800138000", "138******00"), ("abc", "***")]
)
def test_identifiers_keep_three_leading_and_two_trailing_characters(value: str, masked: str) -> None:
    assert mask_identifier(value) == masked


def test_free_text_uses_the_knowledge_bases_one_masking_function() -> None:
    text = "身份证110101199003071234，手机138 1234 5678，卡号6222 0212 3456 7890"
    assert mask_text(text) == mask_personal_data(text)
    assert mask_text(text) == "身份证110***********1234，手机138****5678，卡号6222********7890"
    assert mask_text("科创板怎么开通") == "科创板怎么开通"


def test_every_string_of_a_json_value_is_masked() -> None:
    value = {"type": "answer", "question": "手机13812345678", "items": ["卡号6222021234567890", 3, None], "n": 2}
    assert mask_strings(value) == {
        "type": "answer",
        "question": "手机138****5678",
        "items": ["卡号6222********7890", 3, None],
        "n": 2,
    }
