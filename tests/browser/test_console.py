"""The agent console in real Chromium: presence and auto-assignment, assist, transfer, supervisor charts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from routing.sql_audit import AuditLogReader
from tests.browser.conftest import DESKTOP, PHONE, Screens, screenshot
from tests.browser.pages import ask, console_login, last_message, open_widget_as, widget
from tests.browser.server import LiveServer
from tests.handoff_api.widget.support import FakeKnowledgeBase, occupy

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_online_agent_gets_work_by_itself_and_uses_assist_and_transfer(server: LiveServer, screens: Screens) -> None:
    server.container.knowledge_base = FakeKnowledgeBase()  # type: ignore[assignment]
    agent = screens.page(DESKTOP)
    console_login(agent, server.url, "svc01")
    expect(agent.locator("#queue-panel")).to_be_visible()
    agent.select_option("#presence", "online")
    expect(agent.locator("#notice")).to_have_text("状态已更新")

    client = screens.page(PHONE)
    open_widget_as(client, server.url, "C10005")
    ask(client, "融资融券账户怎么开")
    last_message(client, "bot").get_by_text("问题未解答").click()
    expect(widget(client).locator(".status")).to_contain_text("刘洋 为您服务")

    # auto-assigned: the conversation appears in the agent's list without any click
    row = agent.locator(".conv-item")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("高建华")
    expect(agent.locator("#load")).to_have_text("接待 1 / 8")
    row.click()
    expect(agent.locator("#conversation-view")).to_be_visible()
    opens = [
        (entry.actor, entry.action)
        for entry in server.run(AuditLogReader(server.container.routing.record.engine).latest(50))  # type: ignore[attr-defined]
        if entry.action == "conversation.open"
    ]
    assert opens == [("svc01", "conversation.open")]  # the click, not the list's own loads

    # agent assist: the KB search is prefilled with the client's question and offers an answer
    expect(agent.locator("#kb-query")).to_have_value("融资融券账户怎么开")
    hit = agent.locator(".kb-hit").first
    expect(hit).to_contain_text("融资融券账户怎么开通")
    hit.locator(".use").click()
    expect(agent.locator("#reply-text")).to_have_value(
        "开通融资融券需资产不低于50万元并满足交易经验要求，可预约营业部办理。"
    )
    agent.select_option("#canned", label="稍等")
    expect(agent.locator("#reply-text")).to_have_value("好的，我正在为您查询，请稍等片刻。")
    agent.click("#send-reply")
    expect(last_message(client, "agent").locator(".text")).to_have_text("好的，我正在为您查询，请稍等片刻。")

    # typing from the client shows in the console
    widget(client).locator(".input").press_sequentially("还有")
    expect(agent.locator("#typing")).to_be_visible()

    # transfer to the advisor queue: it leaves the agent's hands and the client is told
    expect(agent.locator("#btn-transfer-queue")).to_have_text("转至投顾队列")
    agent.click("#btn-transfer-queue")
    expect(agent.locator("#empty")).to_be_visible()
    expect(agent.locator(".conv-item")).to_have_count(0)
    expect(widget(client).locator(".banner")).to_contain_text("正在为您转接在线投顾")


def test_supervisor_sees_todays_figures_as_charts(server: LiveServer, screens: Screens) -> None:
    server.run(occupy(server.container, "svc02"))
    client = screens.page(PHONE)
    open_widget_as(client, server.url, "C10004")
    ask(client, "科创板权限怎么开通")
    last_message(client, "bot").get_by_text("问题已解答").click()
    ask(client, "今天天气怎么样")
    expect(widget(client).locator(".queue")).to_contain_text("您当前排在第 1 位")

    manager = screens.page(DESKTOP)
    console_login(manager, server.url, "dm-sh")
    expect(manager.locator("#queue-panel")).to_be_visible()
    manager.click("#tab-stats")
    figures = manager.locator("#stat-figures .figure")
    expect(figures.first).to_contain_text("今日会话")
    expect(figures.first.locator(".figure-value")).to_have_text("1")
    charts = manager.locator("#stat-charts svg")
    expect(charts).to_have_count(3)
    expect(charts.nth(0).locator("rect")).to_have_count(3)
    expect(charts.nth(2)).to_contain_text("今天天气怎么样")
    screenshot(manager, "console-supervisor")


def test_console_refuses_a_wrong_password(server: LiveServer, screens: Screens) -> None:
    page = screens.page(DESKTOP)
    page.goto(f"{server.url}/console")
    page.fill("#staff-id", "svc01")
    page.fill("#password", "wrong-password")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("工号或密码错误")
    expect(page.locator("#app")).to_be_hidden()


def test_transfer_to_a_colleague_picked_from_the_list(server: LiveServer, screens: Screens) -> None:
    first = screens.page(DESKTOP)
    console_login(first, server.url, "svc01")
    first.select_option("#presence", "online")
    expect(first.locator("#notice")).to_have_text("状态已更新")

    client = screens.page(PHONE)
    open_widget_as(client, server.url, "C10003")
    widget(client).locator(".human").click()
    expect(widget(client).locator(".status")).to_contain_text("刘洋 为您服务")
    first.locator(".conv-item").click()

    colleague = screens.page(DESKTOP)
    console_login(colleague, server.url, "svc02")
    colleague.select_option("#presence", "online")
    expect(colleague.locator("#notice")).to_have_text("状态已更新")

    # only tier-2 colleagues who serve this conversation's queue are offered; no typed id is needed
    expect(first.locator("#transfer-staff-id")).to_be_hidden()
    picker = first.locator("#transfer-staff")
    expect(picker).to_be_visible()
    labels = picker.locator("option").all_inner_texts()
    assert labels == ["选择同事…", "李娜（adv02，在线投顾）", "陈静（svc02，在线客服）", "杨帆（svc03，在线客服）"]
    first.click("#btn-transfer-staff")
    expect(first.locator("#notice")).to_have_text("请选择同事")
    picker.select_option("svc02")
    first.click("#btn-transfer-staff")
    expect(first.locator("#notice")).to_have_text("已转给 陈静（svc02，在线客服）")
    expect(first.locator(".conv-item")).to_have_count(0)

    expect(colleague.locator(".conv-item")).to_have_count(1)
    expect(colleague.locator(".conv-item")).to_contain_text("马国栋")
    expect(widget(client).locator(".status")).to_contain_text("陈静 为您服务")


def test_typed_staff_id_is_the_fallback_when_no_colleague_is_listed(server: LiveServer, screens: Screens) -> None:
    agent = screens.page(DESKTOP)
    agent.route("**/api/v1/staff/colleagues", lambda route: route.fulfill(json=[]))
    console_login(agent, server.url, "svc01")
    agent.select_option("#presence", "online")
    client = screens.page(PHONE)
    open_widget_as(client, server.url, "C10003")
    widget(client).locator(".human").click()
    agent.locator(".conv-item").click()
    expect(agent.locator("#transfer-staff")).to_be_hidden()
    agent.click("#btn-transfer-staff")
    expect(agent.locator("#notice")).to_have_text("请输入同事工号")
    agent.fill("#transfer-staff-id", "svc03")
    agent.click("#btn-transfer-staff")
    expect(agent.locator("#notice")).to_contain_text("操作失败")  # svc03 is offline: routing refuses
