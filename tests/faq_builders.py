"""FAQ entries, hits and retrievals for tests of the knowledge base, the bot and the API's tier 1."""

from __future__ import annotations

from collections.abc import Sequence

from knowledge_base.models import Band, Category, FaqEntry, FollowUpQueue, Hit, Retrieval


def make_entry(
    entry_id: str = "bg-kcb-threshold",
    *,
    queue: FollowUpQueue = FollowUpQueue.SERVICE,
    category: Category = Category.BUSINESS_GUIDE,
    question: str = "科创板交易权限开通需要满足什么条件？",
    answer: str = "开通科创板交易权限需满足资产、交易经验和测评要求。",
) -> FaqEntry:
    return FaqEntry(
        id=entry_id,
        category=category,
        queue=queue,
        question=question,
        similar=("688开头的股票怎么才能买", "开科创板要多少资产", "科创版权限门槛是50万吗"),
        answer=answer,
    )


def make_hit(entry: FaqEntry | None = None, score: float = 0.93) -> Hit:
    entry = entry or make_entry()
    return Hit(entry=entry, score=score, matched=entry.question)


def make_retrieval(query: str, band: Band, hits: Sequence[Hit] = ()) -> Retrieval:
    return Retrieval(query=query, band=band, hits=tuple(hits))
