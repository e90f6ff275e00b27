"""Client-facing system messages (Simplified Chinese), in one place for review and reuse."""

from __future__ import annotations

from routing.models import QueueName

QUEUE_LABELS: dict[QueueName, str] = {QueueName.ADVISOR: "在线投顾", QueueName.SERVICE: "在线客服"}

FEEDBACK_OPTIONS = ("问题已解答", "问题未解答")


def queued(queue: QueueName, position: int | None) -> str:
    """Told when the conversation enters a tier-2 queue."""
    return f"正在为您转接{QUEUE_LABELS[queue]}{_ahead(position)}，请稍候。"


def agent_joined(queue: QueueName | None, name: str, practice_number: str | None) -> str:
    """Told when an online advisor or service agent takes the conversation."""
    label = QUEUE_LABELS[queue] if queue else "工作人员"
    number = f"（执业编号：{practice_number}）" if practice_number else ""
    return f"{label}{name}{number}为您服务。"


def responder_assigned(name: str, because: str) -> str:
    """Told when the conversation goes to the client's assigned responder (tier 3)."""
    return f"{because}已为您转接专属响应人{name}，请稍候，我们一定会给您答复。"


def responder_joined(name: str, practice_number: str | None) -> str:
    """Told when the responder sends the first reply."""
    number = f"（执业编号：{practice_number}）" if practice_number else ""
    return f"专属响应人{name}{number}为您服务。"


OFF_HOURS_PREFIX = "当前为非服务时间，"
NO_STAFF_PREFIX = "当前暂无在线人员，"


def leave_message(prefix: str) -> str:
    """Nobody can answer now: ask the client to leave a message for their responder (prefix says why)."""
    when = "在下一个服务时段尽快" if prefix == OFF_HOURS_PREFIX else "尽快"
    return f"{prefix}暂时无法为您接通人工服务。请直接留言描述您的问题，您的专属响应人将{when}回复您。"


UNRESOLVED_PREFIX = "很抱歉问题仍未解决，"
WAIT_LIMIT_PREFIX = "很抱歉让您久等了，"
RESOLVED = "本次服务已结束。请问您的问题是否已解答？"
RESOLVED_BY_CLIENT = "感谢您的确认，本次服务已结束。如有其他问题，请直接输入，智能投顾机器人将继续为您服务。"
TRANSFERRED = "正在为您转接其他工作人员，请稍候。"
CLOSED = "本次会话已结束，感谢您的咨询。"
REOPENED = "您的问题已重新打开，工作人员将继续为您服务。"


def agent_left(queue: QueueName, position: int | None) -> str:
    """Told when the serving agent went offline and the conversation is queued again at its old place."""
    return f"为您服务的{QUEUE_LABELS[queue]}人员已离线，已为您重新排队并保留原排队时间{_ahead(position)}，请稍候。"


def agent_idle(queue: QueueName, position: int | None) -> str:
    """Told when the serving agent did not answer in time and the conversation is queued again at its old place."""
    label = QUEUE_LABELS[queue]
    return f"为您服务的{label}人员暂时未能回复，已为您重新排队并保留原排队时间{_ahead(position)}，请稍候。"


def _ahead(position: int | None) -> str:
    return f"，您前面还有 {position - 1} 位客户" if position and position > 1 else ""


AGENT_IDLE_PREFIX = "为您服务的人员暂时未能回复，且当前暂无其他在线人员，"
AGENT_LEFT_PREFIX = "为您服务的人员已离线，且当前暂无其他在线人员，"
