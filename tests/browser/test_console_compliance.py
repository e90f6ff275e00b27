"""Compliance search in real Chromium: an admin finds a client's conversation by its text and downloads it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, Screens
from tests.browser.pages import ask, console_login, last_message, open_widget_as
from tests.browser.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_admin_searches_by_text_and_downloads_the_transcript(server: LiveServer, screens: Screens) -> None:
    client = screens.page(PHONE)
    open_widget_as(client, server.url, "C10004")
    ask(client, "科创板权限怎么开通")
    expect(last_message(client, "bot")).to_be_visible()

    admin = screens.page(DESKTOP)
    console_login(admin, server.url, "admin")
    admin.click("#tab-compliance")
    expect(admin.locator("#compliance")).to_be_visible()
    expect(admin.locator("#work")).to_be_hidden()
    admin.fill("#cmp-client", "C10004")
    admin.fill("#cmp-text", "科创板")
    admin.click("#cmp-search")
    row = admin.locator(".cmp-row")
    expect(row).to_have_count(1)
    expect(row.locator(".cmp-snippet")).to_contain_text("科创板权限怎么开通")
    expect(admin.locator("#cmp-summary")).to_have_text("共 1 个会话，第 1 / 1 页")

    with admin.expect_download() as started:
        row.locator(".export-txt").click()
    path = started.value.path()
    assert path is not None
    assert "客户：科创板权限怎么开通" in path.read_text(encoding="utf-8")
    expect(admin.locator("#notice")).to_have_text("会话记录已导出")

    admin.fill("#cmp-text", "没有这句话")
    admin.click("#cmp-search")
    expect(admin.locator(".cmp-row")).to_have_count(0)
    expect(admin.locator("#cmp-summary")).to_have_text("共 0 个会话，第 1 / 1 页")

    agent = screens.page(DESKTOP)
    console_login(agent, server.url, "adv01")
    expect(agent.locator("#tab-compliance")).to_be_hidden()
