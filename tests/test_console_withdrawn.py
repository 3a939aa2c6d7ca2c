"""The console's side of an article the site withdrew after its posts went out, over a real socket: the overview
lists it among the problems, in Arabic (its headline and why isolated, each post still out with its account, its
link and its state: flagged, being deleted, could not be deleted), with one button that deletes them all, for
editors only (a viewer sees none and is refused; so is a form without its CSRF token); the button's deletions
reach the fake X, the post's history then says so in Arabic with who asked, and the overview lets the article
go. Then in headless Chromium against a real ``bot run``, the withdrawal told by the plugin's signed notice."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from markupsafe import escape

from bot.clock import ManualClock
from bot.web.notice import sign

from .kit.browser import browser, console_errors, screenshot, until
from .kit.configs import account, sample_site
from .kit.console import PASSWORDS, SECRET, ConsoleServer, with_console
from .kit.fake_x import FakeX
from .kit.paths import ROOT
from .kit.runs import bot_process, free_port, wait_for
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS

#: The article withdrawn: a headline that mixes Latin and Arabic (its order must survive the page's direction).
NASA = next(i for i in SAMPLE_ITEMS if i.title.startswith("NASA"))
#: How the site's withdrawal was learned, as ``bot.retract`` words the plugin's notice of a trash.
WHY = "trashed on the site (the plugin's notice)"
BUTTON = "احذفها كلها"


@pytest.fixture
def console(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock) -> Iterator[ConsoleServer]:
    """The four newest sample articles posted to the fake X (the NASA one among them)."""
    config = with_console(sample_site(tmp_path, feed_server, [account(fake_x, "x")], feed={"backfill": 4}))
    server = ConsoleServer(config, clock)
    server.bot.poll_all()
    server.bot.dispatch()
    assert len(fake_x.tweets) == 4
    yield server
    server.close()


def _post_of(console: ConsoleServer, title: str) -> Any:
    return next(d for d in console.bot.store.deliveries(state="sent") if d.title == title)


def _withdraw(console: ConsoleServer, title: str, delete: list[str] | None = None) -> Any:
    row = _post_of(console, title)
    console.bot.store.retract(row.article_id, console.clock.now(), WHY, "the site", delete=delete or [])
    return row


def _problem(page: str) -> str:
    """The withdrawn article's item in the overview's problems ("" when none is listed)."""
    found = re.search(r'<li class="problem withdrawn">(.*?)\n    </li>', page, re.S)
    return found.group(1) if found else ""


def _tweeted(fake_x: FakeX, remote_id: str) -> bool:
    return any(t["id"] == remote_id for t in fake_x.tweets)


def test_the_overview_lists_a_withdrawn_articles_posts_with_one_button_for_editors(
        console: ConsoleServer, fake_x: FakeX) -> None:
    row = _withdraw(console, NASA.title)
    page = console.client("omar").get("/").text
    item = _problem(page)
    assert item, page
    assert "سُحب من الموقع" in item  # "withdrawn on the site"
    assert f'<bdi dir="auto" class="headline">{escape(NASA.title)}</bdi>' in item
    assert f'<bdi dir="auto">{escape(WHY)}</bdi>' in item  # the why, as said, isolated
    assert f'<a href="/posts/{row.id}">#{row.id}</a> <bdi>x</bdi>' in item
    assert f'href="{row.remote_url}"' in item and "اعرض المنشور" in item  # the post on X
    assert "مُعلَّم: ما زال على منصته" in item  # flagged: nobody asked for its deletion yet
    assert f'action="/posts/{row.id}/withdraw"' in item and BUTTON in item
    assert NASA.link not in page  # the article's own address leads nowhere now: not linked
    # The other articles are not listed: only the withdrawn one.
    assert page.count('class="problem withdrawn"') == 1
    # A viewer sees the article and its post, and no button.
    seen = _problem(console.client("huda").get("/").text)
    assert "سُحب من الموقع" in seen and f"#{row.id}" in seen
    assert "/withdraw" not in seen and BUTTON not in seen
    # English on request.
    english = _problem(console.client("omar").get("/?lang=en").text)
    assert "Withdrawn on the site" in english and "Delete them all" in english and "flagged" in english


def test_only_an_editor_with_the_forms_token_deletes_them(console: ConsoleServer, fake_x: FakeX) -> None:
    row = _withdraw(console, NASA.title)
    viewer = console.client("huda")
    refused = viewer.post(f"/posts/{row.id}/withdraw", {"back": "/"})  # the viewer's own valid token
    assert refused.status_code == 403 and "دورك لا يسمح بهذا" in refused.text
    editor = console.client("omar")
    for token in ("", "not-the-token"):
        expired = editor.post(f"/posts/{row.id}/withdraw", {"back": "/"}, csrf=token)
        assert expired.status_code == 403 and "انتهت صلاحية هذا النموذج" in expired.text
    cross = editor.post(f"/posts/{row.id}/withdraw", {"back": "/"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert viewer.get(f"/posts/{row.id}/withdraw").status_code in (404, 405)  # a POST only
    assert console.bot.store.owed(row.id) is None and console.bot.store.delivery(row.id).state == "sent"
    assert _tweeted(fake_x, row.remote_id)
    assert "delete asked" not in [e.event for e in console.ops.post_history(row.id)]


def test_the_button_deletes_the_posts_and_the_history_says_so_in_arabic(console: ConsoleServer,
                                                                        fake_x: FakeX) -> None:
    row = _withdraw(console, NASA.title)
    others = [d for d in console.bot.store.deliveries(state="sent") if d.id != row.id]
    editor = console.client("omar")
    done = editor.post(f"/posts/{row.id}/withdraw", {"back": "/"})
    # No daemon to wake here: the operations layer makes the deletions at once, and the flash says they were made.
    assert done.status_code == 200 and done.url.endswith("/")
    assert '<p class="flash ok" role="status"><bdi>حُذفت المنشورات.</bdi></p>' in done.text
    assert not _tweeted(fake_x, row.remote_id)
    assert all(_tweeted(fake_x, d.remote_id) for d in others)  # the other articles' posts stay
    assert console.bot.store.delivery(row.id).state == "deleted"
    assert not _problem(done.text) and not _problem(editor.get("/").text)  # the overview lets it go
    post = editor.get(f"/posts/{row.id}").text
    assert "<dd>حُذف</dd>" in post  # the state: deleted
    events = re.findall(r"<li>(.*?)</li>", post.split('<ol class="events">')[1].split("</ol>")[0], re.S)
    told = {e.split(" · ")[1]: e for e in events}  # each event's Arabic name, with who and what
    assert "بواسطة الموقع" in told["سُحب من الموقع"]  # withdrawn, by the site (translated)
    assert escape(WHY) in told["سُحب من الموقع"]  # its detail, as said
    assert "بواسطة omar" in told["طُلب الحذف"]  # the deletion asked, by the editor
    assert "بواسطة omar" in told["حُذف لسحب الخبر"]  # made by the reviser, for the editor who asked
    assert str(row.remote_url) in told["حُذف لسحب الخبر"]
    english = console.client("omar").get(f"/posts/{row.id}?lang=en").text
    assert "withdrawn on the site · by the site" in english
    assert "deleted: its article was withdrawn · by omar" in english
    # Asked again, nothing of it is out any more: said, and nothing changes.
    again = editor.post(f"/posts/{row.id}/withdraw", {"back": "/"})
    assert again.status_code == 200 and 'class="flash error"' in again.text
    assert "لا تُحذف من هنا إلا منشورات خبر سحبه الموقع." in again.text
    assert all(_tweeted(fake_x, d.remote_id) for d in others)


def test_an_editor_cannot_delete_the_posts_of_an_article_still_published(console: ConsoleServer,
                                                                         fake_x: FakeX) -> None:
    """Deleting a published article's posts is an admin's, post by post (unpost): the button's route is only
    for an article the site withdrew."""
    _withdraw(console, NASA.title)
    published = _post_of(console, SAMPLE_ITEMS[0].title)
    for name in ("omar", "sara"):  # an editor, and an admin too: this route is not the way
        refused = console.client(name).post(f"/posts/{published.id}/withdraw", {"back": "/"})
        assert refused.status_code == 200 and 'class="flash error"' in refused.text
        assert "لا تُحذف من هنا إلا منشورات خبر سحبه الموقع." in refused.text
    assert console.client("omar").post("/posts/999999/withdraw", {"back": "/"}).status_code == 200
    assert _tweeted(fake_x, published.remote_id) and console.bot.store.delivery(published.id).state == "sent"
    assert console.bot.store.owed(published.id) is None


def test_posts_being_deleted_show_so_without_a_button(console: ConsoleServer, fake_x: FakeX) -> None:
    row = _withdraw(console, NASA.title, delete=["x"])  # the account's on_retract: delete
    item = _problem(console.client("omar").get("/").text)
    assert "قيد الحذف" in item  # being deleted
    assert BUTTON not in item and "/withdraw" not in item  # nothing left to ask
    console.bot.reviser().run()
    assert not _tweeted(fake_x, row.remote_id)
    assert not _problem(console.client("omar").get("/").text)
    post = console.client("huda").get(f"/posts/{row.id}").text
    assert "حُذف لسحب الخبر · بواسطة الموقع" in post  # the site asked, through the account's rule


def test_a_deletion_the_platform_refuses_is_shown_with_its_error(console: ConsoleServer, fake_x: FakeX) -> None:
    row = _withdraw(console, NASA.title)
    fake_x.fail_next(1, status=400, path=f"/2/tweets/{row.remote_id}")  # X refuses this delete
    done = console.client("omar").post(f"/posts/{row.id}/withdraw", {"back": "/"})
    assert done.status_code == 200 and 'class="flash error"' in done.text
    assert "تعذّر حذف بعض المنشورات" in done.text
    item = _problem(done.text)
    assert "تعذّر الحذف:" in item and "400" in item  # could not be deleted: X's own words
    assert BUTTON in item  # and it can be asked again
    assert _tweeted(fake_x, row.remote_id) and console.bot.store.delivery(row.id).state == "sent"
    post = console.client("omar").get(f"/posts/{row.id}").text
    assert "تعذّر الحذف · بواسطة omar" in post  # delete failed, in the history
    again = console.client("omar").post(f"/posts/{row.id}/withdraw", {"back": "/"})
    assert "حُذفت المنشورات." in again.text and not _tweeted(fake_x, row.remote_id)


# In a real browser, against a real daemon.

PLUGIN_SECRET = "plugin-secret-for-the-withdrawal-test"


class Daemon:
    """``bot run`` with the console and the plugin's notices on, the four newest sample articles posted to X."""

    def __init__(self, tmp_path: Path, feed_server: FeedServer, fake_x: FakeX) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = sample_site(tmp_path, feed_server, [account(fake_x, "x")], feed={"interval": "1h", "backfill": 4},
                             dispatch_interval="1s", server={"host": "127.0.0.1", "port": self.port,
                                                             "plugin_secret": PLUGIN_SECRET})
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
        data["console"] = {"secret_key": SECRET}
        config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "bot", "user", "add", "omar", "--role", "editor", "--config",
                               str(config)], input=PASSWORDS["omar"] + "\n", capture_output=True, text=True, cwd=ROOT,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        self.log = tmp_path / "daemon.log"
        self._out = self.log.open("wb")
        self.proc = bot_process("run", "--config", str(config), stderr=self._out, PYTHONUNBUFFERED="1")
        wait_for(lambda: len(fake_x.tweets) == 4, what="the four posts on X")

    def notice(self, event: str, post_id: int, url: str) -> None:
        """The companion plugin's signed notice, as it sends it."""
        body = json.dumps({"event": event, "post_id": post_id, "url": url, "site": "https://news.example",
                           "nonce": "n-1"}).encode()
        ts = str(int(time.time()))
        request = urllib.request.Request(f"{self.base}/wordpress/notice", data=body, method="POST", headers={
            "Content-Type": "application/json", "X-WP-Social-Bot-Timestamp": ts,
            "X-WP-Social-Bot-Signature": sign(PLUGIN_SECRET, ts, body)})
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 202

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self._out.close()


@pytest.mark.browser
@pytest.mark.slow
def test_an_editor_deletes_a_withdrawn_articles_posts_in_the_browser(tmp_path: Path, feed_server: FeedServer,
                                                                    fake_x: FakeX) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    drivers = browser()
    driver = next(drivers)  # skips here, saying why, where Chromium is absent
    daemon = Daemon(tmp_path, feed_server, fake_x)
    try:
        mine = next(t for t in fake_x.tweets if NASA.title.split(":")[0] in t["text"])
        daemon.notice("trash", NASA.post_id, NASA.link)
        # Signed in with the keyboard.
        driver.get(daemon.base + "/")
        until(driver, lambda d: d.current_url.startswith(daemon.base + "/login"), "the sign-in page")
        driver.find_element(By.NAME, "username").send_keys("omar")
        driver.find_element(By.NAME, "password").send_keys(PASSWORDS["omar"] + Keys.ENTER)
        until(driver, lambda d: d.current_url == daemon.base + "/", "the overview")
        # The daemon applies the notice in the background; the overview, refreshing itself, shows it. Read and
        # click each in one step: the overview replaces its part every few seconds (a read element may be gone).
        read = ("const p = document.querySelector('.problem.withdrawn');"
                "return p && [p.querySelector('.headline').textContent, p.textContent,"
                " p.querySelector('button') && p.querySelector('button').textContent];")
        headline, text, label = until(driver, lambda d: d.execute_script(read), "the withdrawal")
        assert headline == NASA.title and "سُحب من الموقع" in text and WHY in text and label == BUTTON
        assert _tweeted(fake_x, mine["id"])
        screenshot(driver, tmp_path, "withdrawn")

        def click(d: Any) -> bool:
            d.find_element(By.CSS_SELECTOR, ".problem.withdrawn button").click()
            return True

        until(driver, click, "the button clicked")
        flash = until(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".flash.ok").text, "the flash")
        assert flash in ("يجري حذف المنشورات.", "حُذفت المنشورات.")  # the daemon deletes them in a moment
        wait_for(lambda: not _tweeted(fake_x, mine["id"]), what="the post deleted on X")

        def fresh(d: Any) -> bool:  # the page as it is now (its own refresh, every 5 s, would show it in time too)
            d.get(daemon.base + "/")
            return not d.find_elements(By.CSS_SELECTOR, ".problem.withdrawn")

        until(driver, fresh, "the overview without it")
        assert len(fake_x.tweets) == 3  # the other articles' posts stay
        assert console_errors(driver) == []
    finally:
        daemon.close()
        drivers.close()

