"""A real browser for the console's end-to-end tests: Debian's headless Chromium through its chromedriver
(``chromium`` and ``chromium-driver``, which ``.ci/run`` installs). Where they are absent the tests skip and say
why, unless ``BOT_TEST_BROWSER=required`` (CI), when they fail instead."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: Seconds a step may take before the test gives up (generous: a slow machine never fails a test).
PATIENCE = 30


def browser(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium session (selenium's WebDriver), closed afterwards."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        reason = "Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("BOT_TEST_BROWSER") == "required":
            pytest.fail(f"{reason}, and BOT_TEST_BROWSER=required")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--lang=ar", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--disable-component-update"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(PATIENCE)
    try:
        yield driver
    finally:
        driver.quit()


def until(driver: Any, check: Callable[[Any], Any], what: str) -> Any:
    """Wait (at most :data:`PATIENCE` seconds) until ``check(driver)`` is truthy; its value."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # The live pages replace their parts as they refresh: an element read a moment before may be gone.
    return WebDriverWait(driver, PATIENCE, poll_frequency=0.1,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                         ).until(check, f"timed out waiting for {what}")


def console_errors(driver: Any) -> list[str]:
    """What the page's console said at level SEVERE: a CSP violation, a script error, a failed request."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def screenshot(driver: Any, tmp_path: Path, name: str) -> Path:
    """A screenshot in the test's folder, and in ``$BOT_SCREENSHOTS`` when set (the README's pictures)."""
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    folder = os.environ.get("BOT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / f"{name}.png")
    return path
