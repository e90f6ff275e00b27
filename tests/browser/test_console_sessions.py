"""The console keeps a shift going: it renews its token quietly and reconnects; a revoked session signs out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, Screens
from tests.browser.pages import console_login, wait_until
from tests.browser.server import LiveServer
from tests.handoff_api.widget.support import copy_database

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "sessionStorage.getItem('tre-console:token')"


@pytest.fixture
def server(browser_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """Access tokens of one minute: the console renews them after a few seconds."""
    os.environ["STAFF_TOKEN_MINUTES"] = "1"
    live = LiveServer(copy_database(browser_template, tmp_path / "engine.db"))
    live.start()
    try:
        yield live
    finally:
        live.stop()
        os.environ.pop("STAFF_TOKEN_MINUTES", None)


def test_the_console_renews_its_token_and_reconnects(server: LiveServer, screens: Screens) -> None:
    page = screens.page(DESKTOP)
    console_login(page, server.url, "svc01")
    first = page.evaluate(TOKEN)
    first_refresh = page.evaluate("sessionStorage.getItem('tre-console:refresh')")
    assert first and first_refresh
    wait_until(page, f"{TOKEN} !== {first!r}", timeout=30)
    assert page.evaluate("sessionStorage.getItem('tre-console:refresh')") != first_refresh  # rotated
    expect(page.locator("#connection")).to_have_text("实时连接正常")
    expect(page.locator("#app")).to_be_visible()

    server.run(server.container.sessions.end_all("svc01", "admin"))  # logout everywhere, from elsewhere
    expect(page.locator("#login")).to_be_visible(timeout=15_000)
    expect(page.locator("#login-error")).to_have_text("登录已失效，请重新登录")
