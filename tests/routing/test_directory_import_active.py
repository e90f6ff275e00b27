"""The staff file's `active` column: read when given, and a blank keeps the stored flag."""

from __future__ import annotations

import dataclasses

import pytest

from routing.directory_import import DirectoryImportError, parse_staff_csv

HEADER = "id,name,role,skills,max_concurrency,branch,active\n"
ROWS = "svc01,刘洋,service,service,8,上海浦东营业部,false\nsvc02,陈静,service,service,8,上海浦东营业部,\n"


def test_the_active_column_is_read_and_a_new_member_is_active() -> None:
    [first, second] = parse_staff_csv((HEADER + ROWS).encode("utf-8"))
    assert (first.active, second.active) == (False, True)


def test_a_blank_or_absent_active_keeps_the_stored_flag() -> None:
    [_, second] = parse_staff_csv((HEADER + ROWS).encode("utf-8"))
    stored = {"svc02": dataclasses.replace(second, active=False)}
    [_, kept] = parse_staff_csv((HEADER + ROWS).encode("utf-8"), stored)
    assert kept.active is False  # a member disabled with disable-staff stays disabled
    without_column = "id,name,role,skills,max_concurrency,branch\nsvc02,陈静,service,service,8,上海浦东营业部\n"
    [still] = parse_staff_csv(without_column.encode("utf-8"), stored)
    assert still.active is False


def test_an_active_that_is_not_a_boolean_is_rejected() -> None:
    with pytest.raises(DirectoryImportError) as rejected:
        parse_staff_csv((HEADER + "svc03,杨帆,service,service,8,北京金融街营业部,maybe\n").encode("utf-8"))
    assert "active 'maybe' is not a boolean" in str(rejected.value)
