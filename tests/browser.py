"""Headless Chromium (Debian's package) driven by Playwright, for the page tests.

Playwright is used as a driver only: it never downloads a browser, it starts the system one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from omni360.settings import PROJECT_ROOT

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    return found


def artifacts_dir() -> Path:
    """Where screenshots go (kept after the run): $OMNI360_TEST_ARTIFACTS or ./artifacts/."""
    folder = Path(os.environ.get("OMNI360_TEST_ARTIFACTS", PROJECT_ROOT / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class WatchedPage:
    page: Page
    errors: list[str] = field(default_factory=list)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Browser, url: str, width: int = 1400) -> WatchedPage:
    """Open `url`, recording console errors and uncaught exceptions of the page."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    watched = WatchedPage(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.goto(url, wait_until="load")
    return watched
