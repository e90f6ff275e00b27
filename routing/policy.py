"""Routing policy: which queue, which priority, and whether tier 2 can take an escalation now.

Pure: everything it needs (the client, the clock reading, who is online, the calendar, the
question-type classifier as a plain callable) is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from routing.calendar import ServiceCalendar
from routing.models import Client, EscalationReason, QueueName


@dataclass(frozen=True)
class Escalation:
    """A request to leave the bot: why, an optional queue hint, the question, who, when."""

    reason: EscalationReason
    queue_hint: QueueName | None
    question: str
    client: Client
    at: datetime


@dataclass(frozen=True)
class Availability:
    """Who can answer right now: online staff per queue skill, and whether the responder is online."""

    online_by_queue: Mapping[QueueName, int]
    responder_online: bool


class Route(StrEnum):
    """Where an escalation goes."""

    QUEUE = "queue"
    RESPONDER = "responder"
    LEAVE_MESSAGE = "leave_message"


@dataclass(frozen=True)
class RoutingDecision:
    """The policy's answer; `reason` is recorded (OFF_HOURS / NO_STAFF_ONLINE when tier 2 is skipped)."""

    route: Route
    queue: QueueName
    priority: int
    reason: EscalationReason
    explanation: str


@dataclass(frozen=True)
class PriorityRules:
    """VIP first, then the directory tier's rank (higher first); FIFO is the queue's job."""

    tier_ranks: Mapping[str, int]
    vip_boost: int

    def priority(self, client: Client) -> int:
        """The client's queue priority (higher is served first)."""
        rank = self.tier_ranks.get(client.tier.strip().lower(), 0)
        return rank + (self.vip_boost if client.vip else 0)


def choose_queue(
    reason: EscalationReason,
    queue_hint: QueueName | None,
    question: str,
    classify: Callable[[str], QueueName],
) -> QueueName:
    """Advice requests always go to advisors; otherwise the hint, else the classifier decides."""
    if reason == EscalationReason.ADVICE_REQUEST:
        return QueueName.ADVISOR
    if queue_hint is not None:
        return queue_hint
    return classify(question)


def tier2_unavailable_reason(
    queue: QueueName, at: datetime, calendar: ServiceCalendar, online_by_queue: Mapping[QueueName, int]
) -> EscalationReason | None:
    """Why tier 2 cannot take work now (off hours / nobody with the skill online), or None if it can."""
    if not calendar.is_open(at):
        return EscalationReason.OFF_HOURS
    if online_by_queue.get(queue, 0) <= 0:
        return EscalationReason.NO_STAFF_ONLINE
    return None


def decide(
    escalation: Escalation,
    classify: Callable[[str], QueueName],
    calendar: ServiceCalendar,
    availability: Availability,
    priorities: PriorityRules,
) -> RoutingDecision:
    """Route an escalation from the bot: tier-2 queue, tier-3 responder, or leave a message."""
    queue = choose_queue(escalation.reason, escalation.queue_hint, escalation.question, classify)
    priority = priorities.priority(escalation.client)
    closed_reason = tier2_unavailable_reason(queue, escalation.at, calendar, availability.online_by_queue)
    if closed_reason is None:
        return RoutingDecision(Route.QUEUE, queue, priority, escalation.reason, f"queued for {queue.value}")
    if availability.responder_online:
        return RoutingDecision(
            Route.RESPONDER, queue, priority, closed_reason, f"tier 2 unavailable ({closed_reason.value})"
        )
    return RoutingDecision(
        Route.LEAVE_MESSAGE,
        queue,
        priority,
        closed_reason,
        f"tier 2 unavailable ({closed_reason.value}) and the responder is not online",
    )
