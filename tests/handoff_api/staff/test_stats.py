"""The supervisor's figures: the questions the bot could not resolve are shown masked."""

from __future__ import annotations

from datetime import date

from handoff_api.staff.stats import TodayStats
from routing.models import Tier
from routing.service import DayStats, UnresolvedQuestion


def test_top_unresolved_questions_are_masked_and_counted_together_when_they_read_alike() -> None:
    day = DayStats(
        day=date(2026, 12, 8),
        conversations=9,
        resolved_by_tier={Tier.BOT: 2, Tier.ONLINE: 1, Tier.RESPONDER: 0},
        escalated_from_bot=6,
        bot_resolution_rate=0.25,
        median_first_response_seconds=30.0,
        median_wait_seconds=12.5,
        top_unresolved=(
            UnresolvedQuestion("科创板怎么开通", 3),
            UnresolvedQuestion("手机13812345678收不到验证码", 2),
            UnresolvedQuestion("身份证110101199003071234过期了", 1),
            UnresolvedQuestion("手机13800005678收不到验证码", 1),
        ),
    )
    stats = TodayStats.from_day(day)
    assert [(q.question, q.count) for q in stats.top_unresolved] == [
        ("科创板怎么开通", 3),
        ("手机138****5678收不到验证码", 3),
        ("身份证110***********1234过期了", 1),
    ]
    assert stats.resolved_by_tier == {"1": 2, "2": 1, "3": 0} and stats.day == "2026-12-08"
