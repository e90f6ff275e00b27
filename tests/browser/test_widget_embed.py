"""The widget on a client app's page of another origin, embedded with the one documented tag."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Response, expect

from handoff_api.client_tokens import issue_client_token
from tests.browser.conftest import PHONE, Screens
from tests.browser.pages import ask, last_message, wait_until, widget
from tests.browser.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOST_PAGE = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>客户端 App</title></head>
<body>
  <h1>掌上营业厅</h1>
  <script src="{api}/widget/widget.js" data-api="{api}" data-token="{token}" data-open="true"></script>
  <script>window.embeddedAtOnce = typeof window.TREWidget.setToken;</script>
</body>
</html>
"""


class ClientApp:
    """A page server on its own loopback port: a different origin from the API's."""

    def __init__(self, page: str) -> None:
        body = page.encode("utf-8")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="client-app", daemon=True)

    def __enter__(self) -> ClientApp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def client_app(server: LiveServer) -> Iterator[ClientApp]:
    token = issue_client_token(server.container.settings, "C10002", datetime.now(UTC))
    with ClientApp(HOST_PAGE.format(api=server.url, token=token)) as app:
        yield app


def test_the_widget_runs_on_another_origin_from_one_script_tag(
    server: LiveServer, client_app: ClientApp, screens: Screens
) -> None:
    client = screens.page(PHONE)
    modules: dict[str, str | None] = {}  # module URL -> its Access-Control-Allow-Origin

    def record(response: Response) -> None:
        if "/widget/widget-" in response.url:
            modules[response.url] = response.headers.get("access-control-allow-origin")

    client.on("response", record)
    client.goto(client_app.url)
    assert client.evaluate("window.embeddedAtOnce") == "function"  # window.TREWidget exists right after the tag
    expect(widget(client).locator(".panel")).to_be_visible()
    expect(widget(client).locator(".status")).to_have_text("智能助手为您服务")
    wait_until(client, "window.TREWidget.connected === true")
    ask(client, "科创板权限怎么开通")
    expect(last_message(client, "bot")).to_contain_text("开通科创板交易权限")
    assert f"{server.url}/widget/widget-main.js" in modules
    assert set(modules.values()) == {"*"}
    assert client.evaluate("window.TREWidget.conversationId")
