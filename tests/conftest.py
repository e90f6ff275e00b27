"""Fixtures every test package may use."""

from __future__ import annotations

import pytest

from knowledge_base.models import Category, FaqEntry, FollowUpQueue
from tests.faq_builders import make_entry


@pytest.fixture
def kcb_entry() -> FaqEntry:
    return make_entry()


@pytest.fixture
def advisor_entry() -> FaqEntry:
    return make_entry(
        "si-asset-allocation",
        queue=FollowUpQueue.ADVISOR,
        category=Category.SMART_INVESTING,
        question="什么是资产配置？",
        answer="资产配置是把资金分散到不同类别资产上的方法。",
    )
