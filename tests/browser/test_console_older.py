"""A long conversation in the console opens on its newest messages; 加载更早的消息 pages back to the first."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from routing.models import Channel, EscalationReason, Presence, QueueName, SenderKind
from tests.browser.conftest import DESKTOP, Screens
from tests.browser.pages import console_login
from tests.browser.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
STORED = 232


async def a_long_conversation_with_svc01(server: LiveServer) -> str:
    routing = server.container.routing
    await routing.set_presence("svc01", Presence.ONLINE)
    conversation = await routing.start_conversation("C10007", Channel.WIDGET)
    for number in range(1, STORED + 1):
        await routing.record.append_message(
            conversation.id, SenderKind.CLIENT, f"第{number}条", {}, None, server.container.clock.now()
        )
    served = await routing.escalate_from_bot(
        conversation.id, EscalationReason.ASKED_HUMAN, QueueName.SERVICE, "第232条"
    )
    assert served.assignee_id == "svc01"
    return served.id


def test_the_console_pages_back_through_a_long_transcript(server: LiveServer, screens: Screens) -> None:
    server.run(a_long_conversation_with_svc01(server), timeout=120)
    agent = screens.page(DESKTOP)
    console_login(agent, server.url, "svc01")
    agent.locator(".conv-item").first.click()
    transcript = agent.locator("#transcript")
    older = transcript.locator("button.older")
    expect(older).to_be_visible()
    shown = transcript.locator(".msg")
    first_page = shown.count()
    assert first_page == 200
    expect(shown.first.locator(".text")).not_to_have_text("第1条")
    expect(shown.filter(has_text="第232条")).to_have_count(1)
    older.click()
    expect(shown.first.locator(".text")).to_have_text("第1条")
    expect(older).to_have_count(0)
    assert shown.count() > first_page
