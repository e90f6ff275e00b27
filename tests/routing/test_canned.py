"""routing.canned: drafts are checked, variables rendered, teams follow roles and skills."""

from __future__ import annotations

from datetime import date

import pytest

from routing.canned import CannedDraft, CannedTeam, check_draft, render, teams_of
from routing.errors import ValidationFailed
from routing.models import QueueName, Role, Staff


def member(role: Role, *skills: QueueName) -> Staff:
    return Staff("s1", "某", role, frozenset(skills), 1, "上海")


def test_a_draft_is_trimmed_and_known_variables_pass() -> None:
    draft = check_draft(CannedDraft(CannedTeam.ALL, "  问候 ", " {客户姓名}您好，{坐席姓名}为您服务（{日期}） "))
    assert (draft.title, draft.text) == ("问候", "{客户姓名}您好，{坐席姓名}为您服务（{日期}）")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{client_name}您好", "unknown variable {client_name}"),
        ("{客户姓名}{}您好", "unknown variable {}"),
        ("{客户姓名您好", "a brace without its pair"),
        ("您好}", "a brace without its pair"),
        ("   ", "the text needs"),
        ("x" * 1001, "the text needs"),
    ],
)
def test_bad_drafts_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message.replace("{", r"\{").replace("}", r"\}")):
        check_draft(CannedDraft(CannedTeam.ALL, "标题", text))


def test_an_empty_or_long_title_is_refused() -> None:
    for title in (" ", "题" * 41):
        with pytest.raises(ValidationFailed, match="title"):
            check_draft(CannedDraft(CannedTeam.ALL, title, "x"))


def test_render_fills_every_variable() -> None:
    text = render("{客户姓名}您好，我是{坐席姓名}，{日期}。{其他}", "张三", "陈顾问", date(2026, 3, 5))
    assert text == "张三您好，我是陈顾问，2026年3月5日。{其他}"


@pytest.mark.parametrize(
    ("staff", "teams"),
    [
        (member(Role.ADVISOR, QueueName.ADVISOR), {CannedTeam.ADVISOR, CannedTeam.ALL}),
        (
            member(Role.SERVICE, QueueName.SERVICE, QueueName.ADVISOR),
            {CannedTeam.SERVICE, CannedTeam.ADVISOR, CannedTeam.ALL},
        ),
        (member(Role.RESPONDER), {CannedTeam.RESPONDER, CannedTeam.ALL}),
        (member(Role.DUTY_MANAGER, QueueName.ADVISOR), {CannedTeam.RESPONDER, CannedTeam.ALL}),
        (member(Role.ADMIN), set(CannedTeam)),
        (member(Role.COMPLIANCE), {CannedTeam.ALL}),
    ],
)
def test_teams_follow_the_role_and_skills(staff: Staff, teams: set[CannedTeam]) -> None:
    assert teams_of(staff) == teams
