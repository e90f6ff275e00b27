"""Masking of personal data shown to staff."""

from __future__ import annotations

import pytest

from handoff_api.masking import mask_identifier, mask_name


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
