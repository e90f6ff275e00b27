"""Canned replies: ready-made answers per team, with variables rendered for one conversation.

Pure apart from the store port. A reply's text may hold the variables `{客户姓名}` (the client's name),
`{坐席姓名}` (the staff member inserting it) and `{日期}` (today in the branch's time zone, 2026年3月5日);
any other `{...}` and any stray brace is refused when the reply is saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from routing.errors import ValidationFailed
from routing.models import QueueName, Role, Staff

CLIENT_NAME = "客户姓名"
STAFF_NAME = "坐席姓名"
TODAY = "日期"
VARIABLES = (CLIENT_NAME, STAFF_NAME, TODAY)
"""The variables a canned reply may use, written `{客户姓名}`."""
MAX_TITLE = 40
MAX_TEXT = 1000
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class CannedTeam(StrEnum):
    """Whose replies: a tier-2 queue's staff, the tier-3 responders, or everyone."""

    ADVISOR = "advisor"
    SERVICE = "service"
    RESPONDER = "responder"
    ALL = "all"


@dataclass(frozen=True)
class CannedReply:
    """One stored canned reply (its text holds the variables unrendered)."""

    id: str
    team: CannedTeam
    title: str
    text: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class CannedDraft:
    """What a supervisor writes: a new reply or the new content of one."""

    team: CannedTeam
    title: str
    text: str


DEFAULT_REPLIES: tuple[tuple[str, str], ...] = (
    ("问候", "您好，我是您的在线服务人员，很高兴为您服务，请问有什么可以帮您？"),
    ("稍等", "好的，我正在为您查询，请稍等片刻。"),
    ("核实身份", "为保障您的账户安全，办理该业务需要核实您的身份信息，请通过App“我的—账户安全”完成验证。"),
    ("风险提示", "以上内容仅供参考，不构成投资建议。投资有风险，入市需谨慎。"),
    ("转专属", "您的问题需要进一步处理，我已为您转交专属服务人员，他会尽快与您联系。"),
    ("结束", "请问还有其他可以帮您的吗？如问题已解决，请点击“问题已解答”。"),
)
"""The replies every new record starts with (team `all`, ids canned-01 ... canned-06)."""


def default_id(number: int) -> str:
    """The id of the `number`-th default reply (from 1)."""
    return f"canned-{number:02d}"


class CannedReplyStore(Protocol):
    """Where canned replies are kept (SQL: routing.sql_canned; memory: routing.memory_canned)."""

    async def list_replies(self, teams: frozenset[CannedTeam] | None = None) -> list[CannedReply]:
        """The replies of these teams (all if None), by team then title then id."""
        ...

    async def get_reply(self, reply_id: str) -> CannedReply | None:
        """The reply with this id, or None."""
        ...

    async def save_reply(self, reply: CannedReply) -> None:
        """Insert the reply, or overwrite the one with its id."""
        ...

    async def delete_reply(self, reply_id: str) -> bool:
        """Remove the reply; whether there was one."""
        ...


def check_draft(draft: CannedDraft) -> CannedDraft:
    """The draft trimmed; ValidationFailed on an empty or long title or text, or an unknown variable."""
    title, text = draft.title.strip(), draft.text.strip()
    if not title or len(title) > MAX_TITLE:
        raise ValidationFailed(f"the title needs 1 to {MAX_TITLE} characters")
    if not text or len(text) > MAX_TEXT:
        raise ValidationFailed(f"the text needs 1 to {MAX_TEXT} characters")
    unknown = sorted({name for name in _PLACEHOLDER.findall(text) if name not in VARIABLES})
    if unknown:
        known = "、".join("{" + name + "}" for name in VARIABLES)
        raise ValidationFailed(f"unknown variable {', '.join('{' + n + '}' for n in unknown)}; use {known}")
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        raise ValidationFailed("a brace without its pair: write variables as {客户姓名}")
    return CannedDraft(draft.team, title, text)


def format_date(day: date) -> str:
    """2026年3月5日."""
    return f"{day.year}年{day.month}月{day.day}日"


def render(text: str, client_name: str, staff_name: str, today: date) -> str:
    """The text with its variables filled in (a variable unknown since it was saved is left as written)."""
    values = {CLIENT_NAME: client_name, STAFF_NAME: staff_name, TODAY: format_date(today)}
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def teams_of(staff: Staff) -> frozenset[CannedTeam]:
    """The teams whose replies a staff member is offered: their queues or tier 3, and always `all`.

    Admins see every team; compliance staff only `all`.
    """
    if staff.role == Role.ADMIN:
        return frozenset(CannedTeam)
    teams = {CannedTeam.ALL}
    if staff.role in {Role.ADVISOR, Role.SERVICE}:
        teams.update(CannedTeam(queue.value) for queue in staff.skills if queue in set(QueueName))
    if staff.role in {Role.RESPONDER, Role.DUTY_MANAGER}:
        teams.add(CannedTeam.RESPONDER)
    return frozenset(teams)


def in_order(replies: list[CannedReply]) -> list[CannedReply]:
    """The order every store lists replies in."""
    return sorted(replies, key=lambda r: (r.team.value, r.title, r.id))
