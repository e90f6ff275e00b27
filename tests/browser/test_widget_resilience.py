"""The widget in real Chromium: reconnect and API restart without loss, refused tokens, VIP priority."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Route, expect

from handoff_api.client_tokens import issue_client_token
from tests.browser.conftest import DESKTOP, PHONE, Screens, screenshot
from tests.browser.pages import ask, console_login, last_message, message_seqs, open_widget_as, wait_until, widget
from tests.browser.server import LiveServer
from tests.handoff_api.widget.support import app_settings, occupy

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def stored_seqs(server: LiveServer, conversation_id: str) -> list[int]:
    messages = server.run(server.container.routing.record.list_messages(conversation_id))
    return [message.seq for message in messages]


def test_reconnect_and_api_restart_lose_and_double_nothing(server: LiveServer, screens: Screens) -> None:
    client = screens.page(PHONE)
    open_widget_as(client, server.url, "C10002")
    ask(client, "科创板权限怎么开通")
    expect(last_message(client, "bot")).to_contain_text("开通科创板交易权限")
    conversation_id = client.evaluate("window.TREWidget.conversationId")

    # the socket drops; meanwhile the conversation moves on through the REST path (the client app, its token)
    client.evaluate("window.TREWidget.disconnect()")
    token = issue_client_token(server.container.settings, "C10002", datetime.now(UTC))
    own = {"Authorization": f"Bearer {token}"}
    path = f"{server.url}/api/v1/conversations/{conversation_id}/messages"
    response = httpx.post(path, json={"text": "融资融券呢"}, headers=own)
    assert response.status_code == 200
    expect(last_message(client, "bot")).to_contain_text("开通融资融券")
    expect(widget(client).locator(".msg[data-seq]")).to_have_count(4)

    # the whole API restarts (new process state, same database); the widget comes back by itself
    server.restart()
    assert httpx.post(path, json={"text": "定投是什么"}, headers=own).status_code == 200
    client.wait_for_function("() => window.TREWidget.connected === true", timeout=20_000)
    expect(last_message(client, "bot")).to_contain_text("基金定投")
    ask(client, "你好")
    expect(last_message(client, "bot")).to_contain_text("我是智能投顾助手")
    expect(widget(client).locator(".msg[data-seq]")).to_have_count(8)
    assert message_seqs(client) == stored_seqs(server, conversation_id) == list(range(1, 9))
    assert widget(client).locator(".msg.sending, .msg.failed").count() == 0


def test_invalid_token_is_refused_with_a_clear_notice(server: LiveServer, screens: Screens) -> None:
    client = screens.page(PHONE)
    client.goto(f"{server.url}/demo")
    client.evaluate(
        """(api) => {
            window.authRequired = null;
            window.addEventListener("tre-widget:auth-required", (e) => { window.authRequired = e.detail.reason; });
            const script = document.createElement("script");
            script.src = "/widget/widget.js";
            script.dataset.api = api;
            script.dataset.token = "eyJhbGciOiJIUzI1NiJ9.eyJjbGllbnRfaWQiOiJDMTAwMDEifQ.forged";
            script.dataset.open = "true";
            document.body.appendChild(script);
        }""",
        server.url,
    )
    expect(widget(client).locator(".banner")).to_have_text("身份验证失败或已过期，请重新进入。")
    expect(widget(client).locator(".status")).to_have_text("身份验证已失效")
    client.wait_for_function("() => window.authRequired === 'invalid token'")
    assert widget(client).locator(".msg").count() == 0


def test_expired_token_is_renewed_from_the_token_url_and_the_session_resumes(
    server: LiveServer, screens: Screens
) -> None:
    settings = app_settings()
    renewals: list[str] = []

    def issue(route: Route) -> None:
        assert route.request.method == "POST"
        renewals.append(route.request.url)
        route.fulfill(json={"token": issue_client_token(settings, "C10003", datetime.now(UTC))})

    client = screens.page(PHONE)
    client.route(f"{server.url}/client-app/chat-token", issue)
    client.goto(f"{server.url}/demo")
    client.evaluate(
        """([api, token]) => {
            const script = document.createElement("script");
            script.src = "/widget/widget.js";
            script.dataset.api = api;
            script.dataset.token = token;
            script.dataset.tokenUrl = "/client-app/chat-token";
            script.dataset.open = "true";
            document.body.appendChild(script);
        }""",
        [server.url, issue_client_token(settings, "C10003", datetime.now(UTC), lifetime=timedelta(seconds=3))],
    )
    wait_until(client, "Boolean(window.TREWidget && window.TREWidget.connected)")
    conversation_id = client.evaluate("window.TREWidget.conversationId")
    ask(client, "科创板权限怎么开通")
    expect(last_message(client, "bot")).to_contain_text("开通科创板交易权限")

    # the server closes the session when the 3-second token runs out; the widget renews it and resumes
    deadline = time.monotonic() + 10
    while not renewals and time.monotonic() < deadline:
        client.wait_for_timeout(50)  # lets Playwright run the route handler
    assert len(renewals) == 1, "the widget did not ask the token URL for a new token"
    wait_until(client, "window.TREWidget.connected === true")
    assert client.evaluate("window.TREWidget.conversationId") == conversation_id
    expect(widget(client).locator(".status")).to_have_text("智能助手为您服务")
    ask(client, "融资融券呢")
    expect(last_message(client, "bot")).to_contain_text("开通融资融券")
    assert message_seqs(client) == stored_seqs(server, conversation_id) == [1, 2, 3, 4]
    expect(widget(client).locator(".banner")).to_be_hidden()


def test_vip_client_overtakes_an_ordinary_client(server: LiveServer, screens: Screens) -> None:
    server.run(occupy(server.container, "svc02"))
    ordinary = screens.page(PHONE)
    open_widget_as(ordinary, server.url, "C10003")
    widget(ordinary).locator(".human").click()
    expect(widget(ordinary).locator(".queue")).to_contain_text("您当前排在第 1 位")

    vip = screens.page(PHONE)
    open_widget_as(vip, server.url, "C10001")
    widget(vip).locator(".human").click()
    expect(widget(vip).locator(".queue")).to_contain_text("您当前排在第 1 位")
    expect(widget(ordinary).locator(".queue")).to_contain_text("您当前排在第 2 位")

    agent = screens.page(DESKTOP)
    console_login(agent, server.url, "svc01")
    rows = agent.locator(".queue-item")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("陈*明")  # queue lines show masked names
    expect(rows.nth(0).locator(".vip")).to_have_text("VIP")
    expect(rows.nth(1)).to_contain_text("马*栋")
    for name in ("陈晓明", "马国栋"):
        expect(agent.locator("#queue-list")).not_to_contain_text(name)
    screenshot(agent, "console-queue")
