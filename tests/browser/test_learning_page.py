"""The knowledge editors' page in a real browser: a candidate is edited and rejected in a batch."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect

from handoff_api.learning.models import CandidateKind, NewCandidate, Source, Status
from tests.browser.conftest import DESKTOP, Screens
from tests.browser.pages import console_login
from tests.browser.server import LiveServer


def test_an_editor_reviews_a_masked_candidate_in_the_browser(server: LiveServer, screens: Screens) -> None:
    learning = server.container.learning
    assert learning is not None
    question = "两融怎么开 我手机13812345678"
    candidate = NewCandidate(
        CandidateKind.PHRASING, question, "wm-margin-open", Source.AGENT_ASSIST, "svc01", datetime.now(UTC), "conv-x"
    )
    candidate_id = server.run(learning.store.add_candidate(candidate))

    page = screens.page(DESKTOP)
    console_login(page, server.url, "dm-sh")
    page.click("#tab-learning")
    row = page.locator(f"#review-rows tr[data-id='{candidate_id}']")
    expect(row).to_be_visible()
    expect(row.locator(".text")).not_to_have_value(question)  # the mobile number is masked
    expect(row).to_contain_text("坐席使用答案")
    row.locator(".pick").check()
    page.click("#btn-reject")
    expect(page.locator("#notice")).to_have_text("已驳回")
    expect(page.locator(f"#review-rows tr[data-id='{candidate_id}']")).to_have_count(0)
    [stored] = server.run(learning.store.candidates_by_id([candidate_id]))
    assert (stored.status, stored.reviewer) == (Status.REJECTED, "dm-sh")

    page.click("#tab-versions")
    expect(page.locator("#serving")).to_contain_text("本实例索引版本")
