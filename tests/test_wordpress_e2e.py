"""The companion plugin and the bot together, for real: Debian's WordPress with the plugin installed from its zip
(the session's ``tests/kit/real_wordpress.py``), a real ``bot run`` reading that WordPress's feed (polled once an
hour: only the plugin's notice can make it look sooner; WP-Cron is off) and REST API as the ``socialbot`` editor,
posting to the fake X (one account at once, one whose posts await approval). A publish reaches X at once; a post
the editor chose not to share is skipped with the reason; the custom text is what is posted; an edit's notice
re-reads the editor's say; a forged or replayed notice is refused; the panel in the block editor shows where the
post went (the README's screenshot)."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.web.notice import sign

from .kit.browser import browser, console_errors, screenshot, until
from .kit.clock import manual_clock
from .kit.configs import account
from .kit.fake_x import FakeX
from .kit.real_wordpress import WordPress
from .kit.runs import bot_process, free_port, wait_for
from .kit.servers import LocalServer, closed_clean

SECRET = "e2e-plugin-secret-7f3a"
pytestmark = pytest.mark.slow
READY = ("return window.wp && wp.data && wp.data.select('core/edit-post') && wp.data.select('core/editor')"
         " && wp.data.select('core/editor').getCurrentPostId()")


@dataclass
class Caught:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0


class Relay(LocalServer):
    """Stands between the plugin and the bot: forwards each request as it came, and keeps it (to replay)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.caught: list[Caught] = []
        super().__init__()

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        keep = {k: v for k, v in h.headers.items() if k.lower().startswith(("x-wp-social-bot", "content-type"))}
        caught = Caught(h.path, keep, body)
        request = urllib.request.Request(self.target + h.path, data=body, method=h.command, headers=keep)
        try:
            with urllib.request.urlopen(request, timeout=20) as resp:
                caught.status, answer = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            caught.status, answer = exc.code, exc.read()
        except OSError:
            caught.status, answer = 502, b"the bot is away"
        with self._lock:
            self.caught.append(caught)
        h.send_response(caught.status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(answer)))
        h.end_headers()
        h.wfile.write(answer)

    def notices(self) -> list[Caught]:
        with self._lock:
            return [c for c in self.caught if c.path == "/wordpress/notice"]


@dataclass
class Site:
    wp: WordPress
    x: FakeX
    relay: Relay
    bot: str  #: the bot's address
    log: Path
    seen: list[str] = field(default_factory=list)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def tweet(self, needle: str) -> dict[str, Any] | None:
        return next((t for t in self.x.tweets if needle in t["text"]), None)


@pytest.fixture(scope="module")
def site(real_wordpress: WordPress, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    wp = real_wordpress
    folder = tmp_path_factory.mktemp("e2e")
    x = FakeX(manual_clock())
    port = free_port()
    relay = Relay(f"http://127.0.0.1:{port}")
    bot_user = wp.users["socialbot"]
    config = {
        "site": {"name": "قريش", "url": wp.base, "timezone": "Asia/Baghdad", "wordpress_api": True,
                 "wordpress_user": bot_user.login, "wordpress_password": bot_user.app_password},
        "database": f"sqlite:///{folder / 'bot.sqlite3'}",
        "feeds": [{"id": "main", "url": f"{wp.base}/?feed=rss2", "interval": "1h"}],
        "server": {"host": "127.0.0.1", "port": port, "plugin_secret": SECRET},
        "dispatch_interval": "1h",
        "accounts": [account(x, "x", template="{title}\n{short_link}"),
                     account(x, "x-desk", template="{title}\n{short_link}", approval={"all": True})],
    }
    path = folder / "bot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    log = folder / "daemon.log"
    wp.php("update_option( 'wp_social_bot_share_default', true );")
    with log.open("wb") as out:
        proc = bot_process("run", "--config", str(path), stderr=out, PYTHONUNBUFFERED="1")
        try:
            s = Site(wp, x, relay, f"http://127.0.0.1:{port}", log)
            wait_for(lambda: "first_start=yes" in s.text(), what="the bot's first poll")
            wp.set_constants(url=relay.base, secret=SECRET)
            yield s
        finally:
            wp.set_constants()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            relay.close()
            closed_clean(x)
    assert bot_user.app_password not in log.read_text(encoding="utf-8", errors="replace")


def test_a_publish_reaches_x_at_once_without_wp_cron(site: Site) -> None:
    title = "البرلمان يقر الموازنة العامة بعد جلسة استمرت حتى الفجر"
    started = time.monotonic()
    post_id = site.wp.publish(title, categories=["اقتصاد"])
    saved = time.monotonic() - started
    tweet = wait_for(lambda: site.tweet(title), what="the post on X")
    took = time.monotonic() - started
    assert tweet["text"] == f"{title}\n{site.wp.base}/?p={post_id}"
    [notice] = [n for n in site.relay.notices() if json.loads(n.body)["post_id"] == post_id]
    assert notice.status == 202 and json.loads(notice.body)["event"] == "publish"
    # The goal is 3 s (README's figure); here only a bound no slow machine reaches, and the editor's save
    # is not held up by the bot.
    print(f"publish → X: {took:.2f} s (the editor's save: {saved:.2f} s)")
    assert took < 30 and saved < 10


def test_not_shared_is_not_posted_and_says_why(site: Site) -> None:
    title = "خبر داخلي لا يُنشر على الشبكات"
    post_id = site.wp.publish(title, meta={"wp_social_bot_share": False})
    wait_for(lambda: f"post {post_id}" in site.text() and "the editor chose not to share it" in site.text(),
             what="the bot to skip it")
    status = status_of(site, post_id)
    assert status["found"] and [a["state"] for a in status["accounts"]] == ["skipped", "skipped"]
    assert {a["reason"] for a in status["accounts"]} == {"the editor chose not to share"}
    assert site.tweet(title) is None


def test_the_custom_text_is_what_is_posted(site: Site) -> None:
    title = "وزير المالية يعلن تفاصيل الموازنة"
    custom = "بالأرقام: ما الذي تعنيه الموازنة الجديدة لرواتب الموظفين؟"
    post_id = site.wp.publish(title, meta={"wp_social_bot_text": custom})
    tweet = wait_for(lambda: site.tweet(custom), what="the custom text on X")
    assert tweet["text"] == f"{custom}\n{site.wp.base}/?p={post_id}" and title not in tweet["text"]


def test_an_edits_notice_reads_the_editors_say_again(site: Site) -> None:
    title = "الحكومة تعلن موعد صرف المنحة الجديدة للطلبة"
    post_id = site.wp.publish(title)
    wait_for(lambda: site.tweet(title), what="the post on X")

    def desk() -> Any:
        return next((a for a in status_of(site, post_id)["accounts"] if a["account"] == "x-desk"), {})

    assert desk()["state"] == "awaiting_approval"
    site.wp.update(post_id, meta={"wp_social_bot_share": False})  # the editor changes their mind
    wait_for(lambda: desk().get("state") == "skipped", what="the waiting post skipped")
    assert desk()["reason"] == "the editor chose not to share"
    site.wp.update(post_id, meta={"wp_social_bot_share": True})
    wait_for(lambda: desk().get("state") == "awaiting_approval", what="the post waiting again")
    assert [t["text"] for t in site.x.tweets].count(f"{title}\n{site.wp.base}/?p={post_id}") == 1


def test_a_forged_or_replayed_notice_is_refused(site: Site) -> None:
    post_id = site.wp.publish("اجتماع طارئ لمجلس الوزراء")
    wait_for(lambda: any(json.loads(n.body)["post_id"] == post_id for n in site.relay.notices()),
             what="the plugin's notice")
    [real] = [n for n in site.relay.notices() if json.loads(n.body)["post_id"] == post_id]
    assert real.status == 202
    assert send(site.bot, real.body, real.headers) == 404  # the same notice again: a replay
    forged = dict(real.headers)
    ts = str(int(time.time()))
    body = json.dumps({"event": "publish", "post_id": post_id, "url": "", "site": "", "nonce": "f1"}).encode()
    forged.update({"X-WP-Social-Bot-Timestamp": ts, "X-WP-Social-Bot-Signature": sign("not-the-secret", ts, body)})
    assert send(site.bot, body, forged) == 404
    assert "refused: the same signature was seen before (a replay)" in site.text()
    assert "refused: the signature is wrong" in site.text()


def test_the_panel_shows_where_it_went(site: Site, tmp_path: Path) -> None:
    title = "افتتاح معرض بغداد الدولي للكتاب بمشاركة ثلاثمئة دار نشر"
    post_id = site.wp.publish(title, categories=["سياسة"])
    wait_for(lambda: site.tweet(title), what="the post on X")
    for driver in browser(1400, 1000):
        driver.get(f"{site.wp.base}/wp-login.php")
        until(driver, lambda d: d.find_element("id", "user_login"), "the sign-in form")
        driver.find_element("id", "user_login").send_keys(site.wp.users["editor"].login)
        driver.find_element("id", "user_pass").send_keys(site.wp.users["editor"].password)
        driver.find_element("id", "wp-submit").click()
        until(driver, lambda d: "wp-admin" in d.current_url, "the dashboard")
        driver.get(f"{site.wp.base}/wp-admin/post.php?post={post_id}&action=edit")
        until(driver, lambda d: d.execute_script(READY), "the block editor")
        driver.execute_script("var e = wp.data.select('core/edit-post'), d = wp.data.dispatch('core/edit-post');"
                              "if (e.isFeatureActive('welcomeGuide')) d.toggleFeature('welcomeGuide');"
                              "d.openGeneralSidebar('edit-post/document');")
        panel = until(driver, lambda d: d.find_element("css selector", ".wp-social-bot-panel"), "the Social panel")
        if "is-opened" not in (panel.get_attribute("class") or ""):
            panel.find_element("css selector", ".components-panel__body-toggle").click()
        item = until(driver, lambda d: d.find_element("css selector", "#wp-social-bot-status li[data-state='sent']"),
                     "the account's state in the panel")
        assert item.get_attribute("data-account") == "x"
        link = item.find_element("css selector", "a")
        tweet = site.tweet(title)
        assert tweet is not None and link.get_attribute("href").endswith(f"/status/{tweet['id']}")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", panel)
        screenshot(driver, tmp_path, "panel")
        source = driver.page_source
        assert SECRET not in source and "e2e-plugin-secret" not in source
        assert not [e for e in console_errors(driver) if "wp-social-bot" in e]


def status_of(site: Site, post_id: int) -> Any:
    answer = site.wp.rest("GET", f"/wp-social-bot/v1/status/{post_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def send(base: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(f"{base}/wordpress/notice", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
