"""Today's figures per tier for the supervisor view, as the staff API returns them (routing computes them).

The questions the bot could not resolve are shown with ID-card, mobile and bank-card numbers masked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel

from handoff_api.masking import mask_text
from routing.service import DayStats
from routing.service import UnresolvedQuestion as RoutingUnresolved


class UnresolvedQuestion(BaseModel):
    """A question the bot could not resolve, and how often it came today."""

    question: str
    count: int


class TodayStats(BaseModel):
    """The supervisor's figures for one day (branch time)."""

    day: str
    conversations: int
    resolved_by_tier: dict[str, int]
    escalated_from_bot: int
    bot_resolution_rate: float | None
    median_first_response_seconds: float | None
    median_wait_seconds: float | None
    top_unresolved: list[UnresolvedQuestion]

    @classmethod
    def from_day(cls, stats: DayStats) -> TodayStats:
        """The response body of routing's day figures (tiers keyed "1", "2", "3")."""
        return cls(
            day=stats.day.isoformat(),
            conversations=stats.conversations,
            resolved_by_tier={str(int(tier)): count for tier, count in stats.resolved_by_tier.items()},
            escalated_from_bot=stats.escalated_from_bot,
            bot_resolution_rate=stats.bot_resolution_rate,
            median_first_response_seconds=stats.median_first_response_seconds,
            median_wait_seconds=stats.median_wait_seconds,
            top_unresolved=masked_top_unresolved(stats.top_unresolved),
        )


def masked_top_unresolved(questions: Iterable[RoutingUnresolved]) -> list[UnresolvedQuestion]:
    """The questions with personal data masked; questions that now read alike are counted together."""
    counts: Counter[str] = Counter()
    for question in questions:
        counts[mask_text(question.question)] += question.count
    return [UnresolvedQuestion(question=text, count=count) for text, count in counts.most_common()]
