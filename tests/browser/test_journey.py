"""The whole journey in real Chromium: client widget (phone-sized) and agent console, on the real app."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from routing.models import ConversationState
from tests.browser.conftest import DESKTOP, PHONE, Screens, screenshot
from tests.browser.pages import ask, console_login, last_message, open_widget_as, widget
from tests.browser.server import LiveServer
from tests.handoff_api.widget.support import occupy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLIENT = "C10003"  # 马国栋, ordinary client; assigned responder rsp01 (赵磊)


def test_faq_answer_escalation_agent_reply_responder_and_resolution(server: LiveServer, screens: Screens) -> None:
    server.run(occupy(server.container, "svc02"))  # a busy colleague: escalations wait in the queue
    client = screens.page(PHONE)
    open_widget_as(client, server.url, CLIENT)

    # tier 1: a FAQ answer with the feedback buttons
    ask(client, "科创板权限怎么开通")
    answer = last_message(client, "bot")
    expect(answer).to_contain_text("开通科创板交易权限需满足")
    expect(answer.locator(".actions button")).to_have_text(["问题已解答", "问题未解答"])
    screenshot(client, "widget-answer")

    # the client says it is not solved: queued for online service, with position and wait
    answer.get_by_text("问题未解答").click()
    queue = widget(client).locator(".queue")
    expect(queue).to_contain_text("您当前排在第 1 位")
    expect(queue).to_contain_text("预计等待")
    expect(widget(client).locator(".banner")).to_contain_text("正在为您转接在线客服")
    screenshot(client, "widget-queued", committed="widget.png")

    # an online-service agent claims it in the console and replies
    agent = screens.page(DESKTOP)
    console_login(agent, server.url, "svc01")
    item = agent.locator(".queue-item").first
    expect(item).to_contain_text("马*栋")  # the queue line masks the name; the claimed conversation shows it whole
    expect(item.locator(".reason")).to_have_text("客户反馈未解决")
    expect(item.locator(".waiting")).to_contain_text("已等待")
    item.locator(".claim").click()
    expect(agent.locator("#conv-state")).to_have_text("人工服务中")
    expect(agent.locator("#conv-title")).to_contain_text("马国栋")
    expect(agent.locator('#transcript .msg[data-sender="bot"] .faq').first).to_contain_text("bg-kcb-threshold")
    expect(agent.locator("#profile-fields")).to_contain_text("rsp01")
    expect(agent.locator("#load")).to_have_text("接待 1 / 8")
    expect(widget(client).locator(".status")).to_contain_text("在线客服 刘洋 为您服务")

    agent.fill("#reply-text", "您好")
    expect(widget(client).locator(".typing")).to_contain_text("刘洋正在输入")
    agent.fill("#reply-text", "您好，科创板权限需在App“业务办理”中申请，我来帮您核对资产条件。")
    agent.click("#send-reply")
    expect(last_message(client, "agent")).to_contain_text("我来帮您核对资产条件")
    screenshot(agent, "console-agent", committed="console.png")

    # the agent escalates to the client's assigned responder
    agent.click("#btn-escalate")
    expect(widget(client).locator(".banner")).to_contain_text("已为您转交专属响应人赵磊")
    expect(agent.locator("#empty")).to_be_visible()

    # the responder sees it in the tier-3 inbox with the time limit counting down, and answers
    responder = screens.page(DESKTOP)
    console_login(responder, server.url, "rsp01")
    expect(responder.locator("#mine-title")).to_have_text("我的专属待办")
    inbox = responder.locator(".conv-item").first
    expect(inbox).to_contain_text("马国栋")
    expect(inbox.locator(".deadline")).to_contain_text("剩余")
    inbox.click()
    expect(responder.locator("#conv-state")).to_have_text("待专属响应人处理")
    responder.fill("#reply-text", "马先生您好，我已核实，您的资产满足条件，今天即可在App申请开通。")
    responder.click("#send-reply")
    reply = last_message(client, "responder")
    expect(reply).to_contain_text("今天即可在App申请开通")
    expect(widget(client).locator(".status")).to_contain_text("专属响应人 赵磊")
    screenshot(responder, "console-responder")

    # the client marks it resolved
    reply.get_by_text("问题已解答").click()
    expect(widget(client).locator(".status")).to_have_text("智能助手为您服务")
    conversation_id = client.evaluate("window.TREWidget.conversationId")
    conversation = server.run(server.container.routing.get_conversation(conversation_id))
    assert conversation.state in {ConversationState.RESOLVED, ConversationState.BOT}
    screenshot(client, "widget-resolved")
