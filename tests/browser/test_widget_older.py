"""A long conversation in the widget opens on its newest messages; 查看更早的消息 pages back to the first."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from routing.models import Channel, SenderKind
from tests.browser.conftest import PHONE, Screens
from tests.browser.pages import message_seqs, open_widget_as, widget
from tests.browser.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
STORED = 230


async def a_long_widget_conversation(server: LiveServer, client_id: str) -> None:
    routing = server.container.routing
    conversation = (await routing.open_conversation(client_id, Channel.WIDGET)).conversation
    for number in range(1, STORED + 1):
        sender = SenderKind.CLIENT if number % 2 else SenderKind.BOT
        await routing.record.append_message(
            conversation.id, sender, f"第{number}条", {}, None, server.container.clock.now()
        )


def test_the_widget_pages_back_through_a_long_conversation(server: LiveServer, screens: Screens) -> None:
    server.run(a_long_widget_conversation(server, "C10008"), timeout=120)
    client = screens.page(PHONE)
    open_widget_as(client, server.url, "C10008")
    older = widget(client).locator("button.older")
    expect(older).to_be_visible()
    seqs = message_seqs(client)
    assert (seqs[0], seqs[-1], len(seqs)) == (STORED - 199, STORED, 200)
    older.click()
    expect(widget(client).locator(".msg[data-seq]").first.locator(".text")).to_have_text("第1条")
    expect(older).to_have_count(0)
    assert message_seqs(client) == list(range(1, STORED + 1))
