"""Browser fixtures: headless Chromium, a live server per test, page helpers and screenshots."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.server import LiveServer
from tests.handoff_api.widget.support import copy_database, make_seeded_database

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
COMMITTED = Path(__file__).resolve().parent / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium per test module: Playwright's sync API holds an event loop, which must be gone before
    the asyncio tests of later modules run."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def browser_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_seeded_database(tmp_path_factory.mktemp("browser-template") / "template.db")


@pytest.fixture
def server(browser_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(copy_database(browser_template, tmp_path / "engine.db"))
    live.start()
    try:
        yield live
    finally:
        live.stop()


class Screens:
    """Browser contexts opened by one test (each a separate person), and the script errors they hit."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.opened: list[BrowserContext] = []
        self.errors: list[str] = []

    def page(self, viewport: dict[str, int]) -> Page:
        context = self.browser.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        self.opened.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def close(self) -> None:
        for context in self.opened:
            context.close()


@pytest.fixture
def screens(browser: Browser) -> Iterator[Screens]:
    opened = Screens(browser)
    yield opened
    opened.close()
    assert opened.errors == [], f"script errors in the pages: {opened.errors}"


def screenshot(page: Page, name: str, committed: str | None = None) -> Path:
    """Save under artifacts/screenshots (git-ignored); with REFRESH_README_SCREENSHOTS=1, also refresh the
    committed README copy `committed` (a test run leaves the repository as it found it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if committed and os.environ.get("REFRESH_README_SCREENSHOTS") == "1":
        COMMITTED.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, COMMITTED / committed)
    return path
