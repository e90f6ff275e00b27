"""What a person does on the two screens, as small functions over Playwright pages."""

from __future__ import annotations

import time

from playwright.sync_api import Locator, Page, expect

DEMO_PASSWORD = "demo1234"


def open_widget_as(page: Page, base_url: str, client_id: str) -> None:
    """The demo client app: pick a client, get a demo token, embed the widget (opened)."""
    page.goto(f"{base_url}/demo")
    page.select_option("#client", client_id)
    page.click("#start")
    expect(page.locator("#tre-widget .panel")).to_be_visible()
    expect(page.locator("#tre-widget .status")).to_have_text("智能助手为您服务")


def widget(page: Page) -> Locator:
    return page.locator("#tre-widget")


def ask(page: Page, text: str) -> None:
    box = widget(page).locator(".input")
    box.fill(text)
    box.press("Enter")


def last_message(page: Page, sender: str) -> Locator:
    return widget(page).locator(f'.msg[data-sender="{sender}"]').last


def message_seqs(page: Page) -> list[int]:
    values = widget(page).locator(".msg[data-seq]").evaluate_all("(nodes) => nodes.map((n) => Number(n.dataset.seq))")
    return [int(value) for value in values]


def console_login(page: Page, base_url: str, staff_id: str) -> None:
    page.goto(f"{base_url}/console")
    page.fill("#staff-id", staff_id)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#connection")).to_have_text("实时连接正常")


def wait_until(page: Page, expression: str, timeout: float = 10.0) -> None:
    """Poll a page expression until truthy (page.evaluate, so the pages' CSP forbidding eval does not apply)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout}s: {expression}")
        time.sleep(0.05)
