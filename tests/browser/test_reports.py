"""Supervisor reports in real Chromium: a seeded week drawn as charts, the table, and the README screenshot."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, ROOT, Screens, screenshot
from tests.browser.pages import ask, console_login, last_message, open_widget_as, widget
from tests.browser.report_seed import seed_a_week
from tests.browser.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
README_IMAGE = ROOT / "docs" / "img" / "supervisor-reports.png"
WIDE = {"width": 1440, "height": 1400}


def test_supervisor_reports_draw_charts_for_a_seeded_week(server: LiveServer, screens: Screens) -> None:
    container = server.container
    written = server.run(seed_a_week(container.routing.record, container.clock.now()), timeout=300)
    assert written > 60
    manager = screens.page(WIDE)
    console_login(manager, server.url, "admin")  # the week spans both branches: the firm-wide view
    expect(manager.locator("#tab-reports")).to_be_visible()
    manager.click("#tab-reports")
    charts = manager.locator("#report-charts svg")
    expect(charts).to_have_count(6)
    expect(charts.nth(0).locator("rect")).to_have_count(3)  # volume of the three tiers
    expect(charts.nth(0)).to_contain_text("智能投顾机器人")
    expect(charts.nth(4)).to_contain_text("满意度")
    rows = manager.locator("#report-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("智能投顾机器人")

    manager.select_option("#report-by", "agent")
    manager.click("#report-form button[type=submit]")
    expect(rows).to_have_count(5)  # two advisors, two service staff, the responder
    expect(manager.locator("#report-table")).to_contain_text("张伟")
    path = screenshot(manager, "supervisor-reports")
    if os.environ.get("REFRESH_README_SCREENSHOTS") == "1":  # the README's copy, refreshed on request only
        README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_IMAGE)

    manager.fill("#report-from", "2024-01-01")
    manager.click("#report-form button[type=submit]")
    expect(manager.locator("#report-error")).to_contain_text("366")


def test_only_supervisors_see_the_reports_tab(server: LiveServer, screens: Screens) -> None:
    agent = screens.page(WIDE)
    console_login(agent, server.url, "svc01")
    expect(agent.locator("#tab-reports")).to_be_hidden()


def test_the_widget_asks_for_stars_after_a_resolved_answer(server: LiveServer, screens: Screens) -> None:
    client = screens.page(PHONE)
    open_widget_as(client, server.url, "C10004")
    ask(client, "科创板权限怎么开通")
    last_message(client, "bot").get_by_text("问题已解答").click()
    stars = widget(client).locator(".stars")
    expect(stars).to_contain_text("请为本次服务评分")
    expect(stars.locator(".star")).to_have_count(5)
    stars.get_by_label("4星：满意").click()
    expect(stars.locator(".stars-label")).to_have_text("感谢您的评价！")
    expect(stars.locator(".star.lit")).to_have_count(4)
    source = server.run(server.container.routing.record.report_source(*day_around(server)))
    assert [(rating.score, rating.channel.value) for rating in source.ratings] == [(4, "widget")]


def day_around(server: LiveServer) -> tuple[datetime, datetime]:
    now = server.container.clock.now()
    return now - timedelta(days=1), now + timedelta(days=1)
