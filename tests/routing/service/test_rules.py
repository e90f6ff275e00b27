"""The routing rules: built from the settings, with the classifier, priorities and the tier limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from routing.models import Client, QueueName
from routing.service.rules import RoutingRules
from tests.routing.service_world import SETTINGS, KeywordClassifier

RULES = RoutingRules.from_settings(SETTINGS, KeywordClassifier())


def test_limits_and_zone_come_from_the_settings() -> None:
    assert RULES.wait_limit == timedelta(seconds=SETTINGS.tier2_wait_limit_seconds)
    assert RULES.responder_limit == timedelta(seconds=SETTINGS.responder_limit_seconds)
    assert RULES.zone == ZoneInfo(SETTINGS.timezone)


def test_an_empty_question_goes_to_service() -> None:
    assert RULES.classify("   ") == QueueName.SERVICE
    assert RULES.classify("这只股票能买吗") == QueueName.ADVISOR


def test_vip_first() -> None:
    vip = Client("k1", "甲", "standard", True, "sh", "r1")
    gold = Client("k2", "乙", "gold", False, "sh", "r1")
    assert RULES.priority(vip) > RULES.priority(gold) > 0


def test_first_reply_is_due_from_the_next_opening() -> None:
    open_now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
    assert RULES.first_reply_due(open_now) == open_now + RULES.responder_limit
    saturday = datetime(2026, 3, 7, 2, 0, tzinfo=UTC)
    monday_opening = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)
    assert RULES.first_reply_due(saturday) == monday_opening + RULES.responder_limit
