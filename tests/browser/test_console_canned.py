"""Canned replies in real Chromium: a supervisor manages them, an agent inserts one rendered for the client."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, Screens
from tests.browser.pages import console_login, open_widget_as, widget
from tests.browser.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_supervisor_adds_a_team_reply_and_the_agent_inserts_it_rendered(server: LiveServer, screens: Screens) -> None:
    manager = screens.page(DESKTOP)
    console_login(manager, server.url, "dm-sh")
    manager.click("#tab-canned")
    expect(manager.locator("#canned-admin")).to_be_visible()
    expect(manager.locator("#work")).to_be_hidden()
    expect(manager.locator(".canned-row")).to_have_count(6)

    manager.select_option("#canned-team", "service")
    manager.fill("#canned-title", "问候客户")
    manager.fill("#canned-text", "{客户名}您好")
    manager.click("#canned-save")
    expect(manager.locator("#canned-error")).to_contain_text("unknown variable {客户名}")

    manager.fill("#canned-text", "")
    manager.locator("#canned-variables .variable", has_text="{客户姓名}").click()
    manager.locator("#canned-text").press_sequentially("您好，我是")
    manager.locator("#canned-variables .variable", has_text="{坐席姓名}").click()
    expect(manager.locator("#canned-text")).to_have_value("{客户姓名}您好，我是{坐席姓名}")
    manager.click("#canned-save")
    expect(manager.locator("#notice")).to_have_text("常用语已新增")
    expect(manager.locator(".canned-row")).to_have_count(7)
    expect(manager.locator(".canned-row", has_text="问候客户")).to_contain_text("在线客服")

    agent = screens.page(DESKTOP)
    console_login(agent, server.url, "svc01")
    expect(agent.locator("#tab-canned")).to_be_hidden()
    agent.select_option("#presence", "online")
    expect(agent.locator("#notice")).to_have_text("状态已更新")
    client = screens.page(PHONE)
    open_widget_as(client, server.url, "C10003")
    widget(client).locator(".human").click()
    expect(widget(client).locator(".status")).to_contain_text("刘洋 为您服务")
    agent.locator(".conv-item").click()
    expect(agent.locator("#conversation-view")).to_be_visible()
    agent.select_option("#canned", label="问候客户")
    expect(agent.locator("#reply-text")).to_have_value("马国栋您好，我是刘洋")

    manager.once("dialog", lambda dialog: dialog.accept())
    manager.locator(".canned-row", has_text="问候客户").locator(".remove").click()
    expect(manager.locator("#notice")).to_have_text("常用语已删除")
    expect(manager.locator(".canned-row")).to_have_count(6)
