"""The console in a real browser (headless Chromium) against a real daemon (``bot run``) and the fake X: an
editor signs in with the keyboard, sees the posts that wait for approval, edits one and watches the counter
count as X counts, approves it and sees it sent; the overview updates itself when news comes; a manual post
shows each platform's preview; the pages fit a phone's width; the browser reports no error (a CSP violation
would be one). The screenshots are the README's (``BOT_SCREENSHOTS=docs/console`` writes them there)."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.compose.length import count_x

from .kit.browser import browser, console_errors, screenshot, until
from .kit.configs import account, sample_site
from .kit.console import PASSWORDS, SECRET
from .kit.fake_x import FakeX
from .kit.paths import ROOT
from .kit.runs import bot_process, free_port, wait_for
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, Item, rss2

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TOKEN = "ping-for-the-browser-test"


class Daemon:
    """``bot run`` with the console on, its X account's posts awaiting approval, and three users."""

    def __init__(self, tmp_path: Path, feed_server: FeedServer, fake_x: FakeX) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.feed_server = feed_server
        self.config = sample_site(
            tmp_path, feed_server, [account(fake_x, "x", approval="all", template="{title}\n\n{short_link}"),
                                    account(fake_x, "cards", approval="all", image="card", link="never",
                                            template="{title}", categories={"include": ["لا شيء"]})],
            feed={"interval": "1h", "backfill": 10}, dispatch_interval="1s",
            server={"host": "127.0.0.1", "port": self.port, "ping_token": TOKEN})
        data = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        data["console"] = {"secret_key": "${BOT_CONSOLE_SECRET}"}
        self.config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        for name, role in (("omar", "editor"), ("sara", "admin")):
            done = subprocess.run([sys.executable, "-m", "bot", "user", "add", name, "--role", role, "--config",
                                   str(self.config)], input=PASSWORDS[name] + "\n", capture_output=True, text=True,
                                  cwd=ROOT, timeout=60, env=_env())
            assert done.returncode == 0, done.stderr
        self.log = tmp_path / "daemon.log"
        self._out = self.log.open("wb")
        self.proc = bot_process("run", "--config", str(self.config), stderr=self._out, PYTHONUNBUFFERED="1",
                                BOT_CONSOLE_SECRET=SECRET)
        wait_for(lambda: "first_start=yes" in self.log.read_text(encoding="utf-8", errors="replace"),
                 what="the first poll")

    def ping(self) -> None:
        request = urllib.request.Request(f"{self.base}/ping/{TOKEN}", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 202

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self._out.close()


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "BOT_CONSOLE_SECRET": SECRET}


@pytest.fixture
def daemon(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX) -> Iterator[Daemon]:
    d = Daemon(tmp_path, feed_server, fake_x)
    yield d
    d.close()


@pytest.fixture
def driver() -> Iterator[Any]:
    yield from browser()


def _sign_in(driver: Any, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(base + "/")
    until(driver, lambda d: d.current_url.startswith(base + "/login"), "the sign-in page")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORDS[name] + Keys.ENTER)  # the keyboard is enough
    until(driver, lambda d: d.current_url == base + "/", "the overview after signing in")


def test_an_editor_edits_approves_and_sees_it_sent(daemon: Daemon, driver: Any, fake_x: FakeX,
                                                   tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(driver, daemon.base, "omar")
    awaiting = until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".problem.approval a"), "the approvals")
    assert "10" in awaiting[0].text
    screenshot(driver, tmp_path, "overview")
    awaiting[0].click()
    cards = until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".card"), "the posts awaiting approval")
    assert len(cards) == len(SAMPLE_ITEMS)
    headline = cards[0].find_element(By.CSS_SELECTOR, ".headline").text
    assert headline in [i.title for i in SAMPLE_ITEMS] or headline
    screenshot(driver, tmp_path, "approvals")
    cards[0].find_element(By.PARTIAL_LINK_TEXT, "عدّل").click()
    box = until(driver, lambda d: d.find_elements(By.NAME, "text"), "the editor")[0]

    def count() -> str:
        return str(driver.find_element(By.CSS_SELECTOR, "#counter .count").text)

    before = count()
    assert int(before) == count_x(box.get_attribute("value"))  # what the daemon would send, as X counts it
    edited = "عاجل | الحكومة تعلن خطة طوارئ للكهرباء بعد انقطاع استمر ١٢ ساعة https://news.example.com/?p=1"
    box.clear()
    box.send_keys(edited)
    until(driver, lambda d: count() == str(count_x(edited)), "the counter to count the new text")
    assert "fits" in driver.find_element(By.ID, "counter").get_attribute("class")
    screenshot(driver, tmp_path, "edit")
    box.send_keys(" إضافة" * 50)  # too long for X: the counter says so before anything is sent
    until(driver, lambda d: "too-long" in d.find_element(By.ID, "counter").get_attribute("class"), "too long")
    box.clear()
    box.send_keys(edited)
    until(driver, lambda d: count() == str(count_x(edited)), "the counter again")
    driver.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    until(driver, lambda d: d.current_url.endswith("/queue"), "the queue after approving")
    wait_for(lambda: [t for t in fake_x.tweets if t["text"] == edited], what="the edited post on X")
    assert sum(t["text"] == edited for t in fake_x.tweets) == 1
    driver.get(daemon.base + "/history?state=sent")
    rows = until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "tbody tr"), "the sent post in the history")
    assert len(rows) == 1 and rows[0].find_elements(By.PARTIAL_LINK_TEXT, "اعرض")
    screenshot(driver, tmp_path, "history")
    rows[0].find_element(By.TAG_NAME, "a").click()
    events = until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".events li"), "the post's history")
    assert any("omar" in e.text for e in events)
    assert console_errors(driver) == []


def test_the_overview_updates_itself_when_news_comes(daemon: Daemon, driver: Any) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(driver, daemon.base, "omar")
    until(driver, lambda d: "10" in d.find_element(By.CSS_SELECTOR, ".problem.approval a").text, "ten waiting")
    driver.execute_script("window.notReloaded = true")
    news = Item(900, "عاجل | انطلاق قمة بغداد بمشاركة عربية واسعة", ["عاجل"])
    daemon.feed_server.set("/feed", rss2([news, *SAMPLE_ITEMS]))
    daemon.ping()
    until(driver, lambda d: "11" in d.find_element(By.CSS_SELECTOR, ".problem.approval a").text, "eleven waiting")
    assert driver.execute_script("return window.notReloaded") is True  # updated in place, not reloaded
    assert console_errors(driver) == []


def test_a_manual_post_shows_each_platforms_preview(daemon: Daemon, driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(driver, daemon.base, "omar")
    driver.get(daemon.base + "/compose")
    text = "تنبيه: انقطاع الكهرباء عن أحياء الكرخ مساء اليوم لأعمال صيانة"
    driver.find_element(By.NAME, "text").send_keys(text)
    driver.find_element(By.NAME, "link").send_keys("https://news.example.com/?p=77")
    read = ("const p = document.querySelector('.preview[data-account=x]');"
            "return p && [p.querySelector('.post-text').textContent, p.querySelector('.count').textContent,"
            " p.querySelector('.counter').textContent];")  # read at once: htmx replaces the preview as one types

    def shown(d: Any) -> Any:
        got = d.execute_script(read)
        return got if got and text in got[0] and "?p=77" in got[0] else None  # the link, as the site's short link

    post, count, counter = until(driver, shown, "X's preview with the text and its link")
    assert int(count) == count_x(post)  # counted as X counts
    assert "$" in counter  # and what it costs on X
    card = ("const i = document.querySelector('.preview[data-account=cards] img.card-preview');"
            "return i && i.complete && [i.naturalWidth, i.naturalHeight];")  # loaded (the CSP lets it)
    assert until(driver, lambda d: d.execute_script(card), "the card in the other account's preview") == [1200, 675]
    driver.execute_script("document.getElementById('previews-h').scrollIntoView()")
    screenshot(driver, tmp_path, "compose")
    assert console_errors(driver) == []


def test_the_pages_fit_a_phones_width(daemon: Daemon, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    for driver in browser(390, 844):
        _sign_in(driver, daemon.base, "sara")
        for path in ["/", "/queue", "/approvals", "/compose", "/history", "/accounts", "/users"]:
            driver.get(daemon.base + path)
            until(driver, lambda d: d.find_elements(By.TAG_NAME, "h1"), path)
            wide = driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
            assert not wide, f"{path} is wider than a phone's screen"
        driver.get(daemon.base + "/approvals")
        screenshot(driver, tmp_path, "phone-approvals")
        assert console_errors(driver) == []
