"""The branch's routing rules in one value: service hours, queue priorities, the classifier, the limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from routing.calendar import ServiceCalendar
from routing.models import Client, QueueName
from routing.policy import Availability, Escalation, PriorityRules, RoutingDecision, decide
from routing.ports import QuestionClassifier
from routing.settings import RoutingSettings


@dataclass(frozen=True)
class IdleLimits:
    """How long a client may wait for the agent holding the conversation: a warning, then the limit (0: never)."""

    warning: timedelta = timedelta(0)
    limit: timedelta = timedelta(0)


@dataclass(frozen=True)
class RoutingRules:
    """What decides where a question goes and how long each tier may take."""

    calendar: ServiceCalendar
    priorities: PriorityRules
    classifier: QuestionClassifier
    wait_limit: timedelta
    """A queued conversation waiting this long goes to tier 3."""
    responder_limit: timedelta
    """A tier-3 rung without a first reply within this (from the next opening) hands over to the next."""
    idle: IdleLimits = IdleLimits()
    """When an agent who leaves a client unanswered is warned, and when the conversation is given back."""

    @classmethod
    def from_settings(cls, settings: RoutingSettings, classifier: QuestionClassifier) -> RoutingRules:
        """The rules the settings describe."""
        calendar = ServiceCalendar.build(
            settings.timezone, settings.weekday_hours, settings.holidays, settings.always_open
        )
        return cls(
            calendar,
            PriorityRules(settings.client_tier_ranks, settings.vip_priority_boost),
            classifier,
            timedelta(seconds=settings.tier2_wait_limit_seconds),
            timedelta(seconds=settings.responder_limit_seconds),
            IdleLimits(
                timedelta(seconds=settings.agent_idle_warning_seconds),
                timedelta(seconds=settings.agent_idle_limit_seconds),
            ),
        )

    @property
    def zone(self) -> ZoneInfo:
        """The branch's time zone (days and service hours are counted in it)."""
        return self.calendar.zone

    def classify(self, text: str) -> QueueName:
        """The queue of a question; an empty one goes to service."""
        return self.classifier.classify(text) if text.strip() else QueueName.SERVICE

    def priority(self, client: Client) -> int:
        """The client's queue priority (VIP first, then the directory tier)."""
        return self.priorities.priority(client)

    def decide(self, escalation: Escalation, availability: Availability) -> RoutingDecision:
        """Where an escalation from the bot goes: a tier-2 queue, the responder, or leave a message."""
        return decide(escalation, self.classify, self.calendar, availability, self.priorities)

    def first_reply_due(self, now: datetime) -> datetime:
        """When a tier-3 rung must have replied: the responder limit, counted from the next service opening."""
        return self.calendar.next_open(now) + self.responder_limit
