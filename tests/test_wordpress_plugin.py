"""The companion plugin inside a real WordPress (kit.real_wordpress: Debian's WordPress, a private MariaDB,
php -S), against a local capture server standing in for the bot: the signed notices it sends at once (no
WP-Cron) for each change of a post, an editor's save never held up or failed by a bot that is down or hangs,
the post meta only for who may edit, the wp-config.php constants winning over the settings, and the status
route. The bot's own checks of a notice (a forged or replayed one refused) are the bot side's tests."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.web.notice import sign

from .kit.browser import browser, screenshot, until
from .kit.real_wordpress import WordPress
from .kit.servers import FeedServer, Seen

SECRET = "the-shared-secret-of-the-tests-0123456789"
#: Seconds to wait for something to happen (generous: a slow machine never fails a test).
PATIENCE = 20
PLATFORMS = ("x", "telegram", "facebook", "mastodon", "bluesky", "threads", "instagram", "discord")
META = {"wp_social_bot_share", "wp_social_bot_text", "wp_social_bot_breaking"} | {
    f"wp_social_bot_text_{p}" for p in PLATFORMS}
STATUS = {"post_id": 0, "found": True, "title": "عنوان كما عند البوت", "accounts": [
    {"account": "x-main", "platform": "x", "state": "sent", "reason": None,
     "url": "https://x.com/i/status/1234", "at": "2026-12-02T11:00:00+03:00", "secret_field": "never passed on"},
    {"account": "telegram-main", "platform": "telegram", "state": "skipped",
     "reason": "the editor chose not to share", "url": "javascript:alert(1)", "at": None}]}


class Bot:
    """The capture server standing in for the bot: records every request (headers, raw body, arrival time) and
    answers a notice with 202 and a status request with ``status`` (``status_code``); ``hang`` seconds first."""

    def __init__(self) -> None:
        self.server = FeedServer()
        self.arrivals: list[tuple[float, Seen]] = []
        self.hang = 0.0
        self.status: dict[str, Any] = dict(STATUS)
        self.status_code = 200
        self.server.handlers["/wordpress/notice"] = self._notice
        self.server.handlers["/wordpress/status"] = self._status

    @property
    def base(self) -> str:
        return self.server.base

    def _notice(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        self.arrivals.append((time.time(), seen))
        if self.hang:
            time.sleep(self.hang)
        return 202, {}, b'{"ok": true, "polling": true}'

    def _status(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        self.arrivals.append((time.time(), seen))
        body = json.dumps(self.status).encode() if self.status_code == 200 else b"not found"
        return self.status_code, {}, body

    def notices(self) -> list[Seen]:
        return [s for _, s in self.arrivals if s.path == "/wordpress/notice"]

    def wait(self, n: int, what: str = "/wordpress/notice") -> list[Seen]:
        """The first ``n`` requests to ``what`` once they are in (fails after PATIENCE seconds)."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            got = [s for _, s in self.arrivals if s.path == what]
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{n} requests to {what} never came: {[s.path for _, s in self.arrivals]}")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def bot() -> Iterator[Bot]:
    capture = Bot()
    yield capture
    capture.close()


@pytest.fixture
def wp(real_wordpress: WordPress, bot: Bot) -> Iterator[WordPress]:
    """The session's WordPress, its settings pointing at this test's capture server (restored afterwards)."""
    configure(real_wordpress, bot.base, SECRET)
    real_wordpress.set_constants()
    yield real_wordpress
    real_wordpress.set_constants()
    configure(real_wordpress, "", "")


def configure(wp: WordPress, url: str, secret: str, share: bool = True) -> None:
    wp.php(f"update_option( 'wp_social_bot_url', {json.dumps(url)} ); update_option( 'wp_social_bot_secret', "
           f"{json.dumps(secret)} ); update_option( 'wp_social_bot_share_default', {'true' if share else 'false'} );"
           " delete_option( 'wp_social_bot_last_failure' );")


def signed(seen: Seen, secret: str = SECRET) -> dict[str, Any]:
    """The request's JSON body, once its signature and timestamp are checked as the bot checks them."""
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["content-type"].startswith("application/json")
    timestamp = headers["x-wp-social-bot-timestamp"]
    assert timestamp.isdigit() and abs(int(timestamp) - time.time()) < 30, timestamp
    assert headers["x-wp-social-bot-signature"] == sign(secret, timestamp, seen.body)
    body: dict[str, Any] = json.loads(seen.body)
    assert isinstance(body["nonce"], str) and len(body["nonce"]) >= 16, body
    return body


def signature(seen: Seen) -> str:
    return next(v for k, v in seen.headers.items() if k.lower() == "x-wp-social-bot-signature")


def events(bot: Bot) -> list[tuple[str, int]]:
    return [(b["event"], b["post_id"]) for b in (json.loads(s.body) for s in bot.notices())]


def quiet(bot: Bot, n: int) -> None:
    """Wait for ``n`` notices, then a moment more: no further one comes."""
    bot.wait(n)
    time.sleep(1.0)
    assert len(bot.notices()) == n, events(bot)


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


# --- notices -----------------------------------------------------------------------------------------------------

def test_publishing_sends_one_signed_notice_at_once_without_cron(wp: WordPress, bot: Bot) -> None:
    started = time.time()
    answer, took = timed(lambda: wp.rest("POST", "/wp/v2/posts", json={
        "title": "انفجار في المرفأ", "content": "<p>نص الخبر</p>", "status": "publish",
        "categories": [wp.categories["سياسة"]]}))
    assert answer.status_code == 201, answer.text[:500]
    assert took < 8, f"the editor waited {took:.1f} s"
    post_id = answer.json()["id"]
    (notice,) = bot.wait(1)
    arrived = next(t for t, s in bot.arrivals if s is notice)
    assert arrived - started < 8
    body = signed(notice)
    assert body == {"event": "publish", "post_id": post_id, "url": f"{wp.base}/?p={post_id}", "site": wp.base,
                    "nonce": body["nonce"]}
    quiet(bot, 1)
    assert "wp-cron.php" not in (wp.work / "php-server.log").read_text(errors="replace")


def test_each_change_of_a_published_post_is_told_and_drafts_are_not(wp: WordPress, bot: Bot) -> None:
    draft = wp.publish("مسودة لم تنشر", status="draft")
    wp.update(draft, content="تعديل على المسودة")
    post = wp.publish("خبر يتغير")
    wp.update(post, title="خبر يتغير: تحديث")
    wp.update(post, status="draft")
    wp.update(post, status="publish")
    wp.trash(post)
    gone = wp.publish("خبر يحذف نهائيا")
    wp.delete(gone)
    quiet(bot, 7)
    assert events(bot) == [("publish", post), ("update", post), ("unpublish", post), ("publish", post),
                           ("trash", post), ("publish", gone), ("delete", gone)]
    bodies = [signed(s) for s in bot.notices()]
    assert all(b["post_id"] != draft for b in bodies)
    assert all(b["url"] == f"{wp.base}/?p={b['post_id']}" and b["site"] == wp.base for b in bodies), bodies
    signatures = [signature(s) for s in bot.notices()]
    nonces = [b["nonce"] for b in bodies]
    assert len(set(signatures)) == len(signatures) and len(set(nonces)) == len(nonces)


# --- a bot that is down or hangs never holds up or fails the editor -----------------------------------------------

def last_failure(wp: WordPress) -> Any:
    return json.loads(wp.php("echo wp_json_encode( get_option( 'wp_social_bot_last_failure', null ) );"))


def closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("fault", ["refused", "hanging"])
def test_a_bot_down_or_hanging_never_fails_the_editors_publish(wp: WordPress, bot: Bot, fault: str) -> None:
    if fault == "refused":
        configure(wp, closed_port(), SECRET)
    else:
        bot.hang = 10.0
    logged = len(wp.debug_log())
    answer, took = timed(lambda: wp.rest("POST", "/wp/v2/posts", json={"title": "خبر والبوت معطل",
                                                                        "status": "publish"}))
    assert answer.status_code == 201, answer.text[:500]
    assert took < 8, f"the editor waited {took:.1f} s for a bot that is {fault}"
    assert wp.rest("GET", f"/wp/v2/posts/{answer.json()['id']}", user=None).json()["status"] == "publish"
    deadline = time.monotonic() + PATIENCE
    while "WP Social Bot" not in wp.debug_log()[logged:] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "WP Social Bot" in wp.debug_log()[logged:], wp.debug_log()[logged:][-2000:]
    failure = last_failure(wp)
    assert failure, "the plugin's last-failure option is empty"
    assert SECRET not in json.dumps(failure) and SECRET not in wp.debug_log()


# --- the meta ------------------------------------------------------------------------------------------------------

def test_the_meta_are_for_editors_only(wp: WordPress) -> None:
    post = wp.publish("خبر بنص خاص", meta={"wp_social_bot_share": False, "wp_social_bot_text": "نص مخصص للشبكات",
                                           "wp_social_bot_breaking": True, "wp_social_bot_text_x": "نص لإكس"})
    meta = wp.edit_view(post)["meta"]
    assert set(meta) >= META, sorted(meta)
    assert (meta["wp_social_bot_share"], meta["wp_social_bot_text"], meta["wp_social_bot_breaking"],
            meta["wp_social_bot_text_x"], meta["wp_social_bot_text_telegram"]) == (
        False, "نص مخصص للشبكات", True, "نص لإكس", "")
    public = wp.rest("GET", f"/wp/v2/posts/{post}", user=None)
    assert public.status_code == 200
    assert not META & set(public.json().get("meta") or {}), public.json().get("meta")
    assert wp.rest("GET", f"/wp/v2/posts/{post}", user=None, params={"context": "edit"}).status_code == 401
    for who in (None, "subscriber"):
        tried = wp.rest("POST", f"/wp/v2/posts/{post}", user=who,
                        json={"meta": {"wp_social_bot_share": True, "wp_social_bot_text": "مزور"}})
        assert tried.status_code in (401, 403), (who, tried.status_code, tried.text[:300])
    stored = wp.php(f"echo get_post_meta( {post}, 'wp_social_bot_text', true );")
    assert stored == "نص مخصص للشبكات"
    assert wp.edit_view(post)["meta"]["wp_social_bot_share"] is False


@pytest.mark.parametrize("share", [True, False])
def test_the_share_default_follows_the_settings(wp: WordPress, bot: Bot, share: bool) -> None:
    configure(wp, bot.base, SECRET, share=share)
    post = wp.publish("خبر بالإعداد الافتراضي")
    assert wp.edit_view(post)["meta"]["wp_social_bot_share"] is share


# --- the constants win over the settings ----------------------------------------------------------------------------

def test_the_wp_config_constants_win_over_the_options(wp: WordPress, bot: Bot) -> None:
    other = Bot()
    try:
        fixed = "the-secret-written-in-wp-config-9876543210"
        wp.set_constants(url=other.base, secret=fixed)
        post = wp.publish("خبر إلى عنوان ثابت")
        (notice,) = other.wait(1)
        assert signed(notice, fixed)["post_id"] == post
        time.sleep(1.0)
        assert bot.notices() == []
        page = wp.login("admin").get(wp.base + "/wp-admin/options-general.php?page=wp-social-bot", timeout=60)
        assert page.status_code == 200
        assert re.search(r'<input[^>]*\breadonly\b[^>]*value="' + re.escape(other.base), page.text) or re.search(
            r'<input[^>]*value="' + re.escape(other.base) + r'"[^>]*\breadonly\b', page.text), page.text[-3000:]
        assert "wp-config.php" in page.text
        assert fixed not in page.text and SECRET not in page.text
    finally:
        other.close()


# --- the status route ------------------------------------------------------------------------------------------------

def test_the_status_route_passes_on_the_bots_answer_cleaned(wp: WordPress, bot: Bot) -> None:
    post = wp.publish("خبر نسأل عنه")
    bot.status["post_id"] = post
    answer = wp.rest("GET", f"/wp-social-bot/v1/status/{post}")
    assert answer.status_code == 200, answer.text[:500]
    assert answer.json() == {"post_id": post, "found": True, "title": "عنوان كما عند البوت", "accounts": [
        {"account": "x-main", "platform": "x", "state": "sent", "reason": None,
         "url": "https://x.com/i/status/1234", "at": "2026-12-02T11:00:00+03:00"},
        {"account": "telegram-main", "platform": "telegram", "state": "skipped",
         "reason": "the editor chose not to share", "url": None, "at": None}]}
    (asked,) = bot.wait(1, "/wordpress/status")
    body = signed(asked)
    assert body == {"post_id": post, "url": f"{wp.base}/?p={post}", "nonce": body["nonce"]}
    for who in (None, "subscriber"):
        refused = wp.rest("GET", f"/wp-social-bot/v1/status/{post}", user=who)
        assert refused.status_code in (401, 403), (who, refused.status_code)
    assert len(bot.wait(1, "/wordpress/status")) == 1
    bot.status_code = 404
    failed = wp.rest("GET", f"/wp-social-bot/v1/status/{post}")
    assert failed.status_code == 502, failed.text[:500]
    assert failed.json().get("message")


def test_two_notices_in_the_same_second_never_share_a_signature(wp: WordPress, bot: Bot) -> None:
    posts = [wp.publish("خبر متزامن")]
    threads = [threading.Thread(target=lambda: posts.append(wp.publish("خبر متزامن"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    notices = bot.wait(3)
    assert len({signature(s) for s in notices}) == 3
    assert {signed(s)["post_id"] for s in notices} == set(posts)


# --- the editors, in a real browser ----------------------------------------------------------------------------------
# The classic editor: a mu-plugin of the test's own turns the block editor off for a browser carrying the cookie
# wp_social_bot_classic=1 (use_block_editor_for_post), so one WordPress serves both editors and the post type
# is the real "post", with its meta registered exactly as for the block editor.
CLASSIC_SWITCH = """<?php
/* Test only: the classic editor when the request says so (the cookie wp_social_bot_classic=1). */
add_filter( 'use_block_editor_for_post', function ( $use ) {
    return empty( $_COOKIE['wp_social_bot_classic'] ) ? $use : false;
}, 100 );
"""
CUSTOM = "نص مخصص كتبه المحرر في المتصفح"


@pytest.fixture
def driver() -> Iterator[Any]:
    yield from browser(1400, 1000)


def sign_in(driver: Any, wp: WordPress, classic: bool) -> None:
    driver.get(wp.base + "/wp-login.php")
    if classic:
        driver.add_cookie({"name": "wp_social_bot_classic", "value": "1", "path": "/"})
    user = wp.users["editor"]
    until(driver, lambda d: d.find_element("id", "user_login"), "the login form").send_keys(user.login)
    driver.find_element("id", "user_pass").send_keys(user.password)
    driver.find_element("id", "wp-submit").click()
    until(driver, lambda d: "/wp-admin/" in d.current_url, "the dashboard")


def saved_meta(wp: WordPress, post_id: int) -> tuple[Any, Any]:
    meta = wp.edit_view(post_id)["meta"]
    return meta["wp_social_bot_share"], meta["wp_social_bot_text"]


@pytest.mark.browser
@pytest.mark.slow
def test_the_block_editors_social_panel_saves_the_choices(wp: WordPress, bot: Bot, driver: Any,
                                                          tmp_path: Path) -> None:
    sign_in(driver, wp, classic=False)
    driver.get(wp.base + "/wp-admin/post-new.php")
    js = "return window.wp && wp.data && wp.data.select('core/editor') && wp.data.select('core/edit-post')"
    until(driver, lambda d: d.execute_script(js + " && wp.data.select('core/editor').getCurrentPostId()"),
          "the block editor")
    driver.execute_script("var e = wp.data.select('core/edit-post'), d = wp.data.dispatch('core/edit-post');"
                          "if (e.isFeatureActive('welcomeGuide')) d.toggleFeature('welcomeGuide');"
                          "d.openGeneralSidebar('edit-post/document');")
    until(driver, lambda d: not d.find_elements("css selector", ".edit-post-welcome-guide"), "no welcome guide")
    driver.execute_script("wp.data.dispatch('core/editor').editPost({title: 'خبر من المحرر المكتبي'})")
    panel = until(driver, lambda d: d.find_element("css selector", ".wp-social-bot-panel"), "the Social panel")
    if "is-opened" not in (panel.get_attribute("class") or ""):
        panel.find_element("css selector", ".components-panel__body-toggle").click()
    share = until(driver, lambda d: d.find_element("id", "wp-social-bot-share"), "the share toggle")
    assert share.is_selected(), "share is on by default"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", share)
    share.click()
    until(driver, lambda d: not d.find_element("id", "wp-social-bot-share").is_selected(), "share off")
    driver.find_element("id", "wp-social-bot-text").send_keys(CUSTOM)
    until(driver, lambda d: d.execute_script(
        "return wp.data.select('core/editor').getEditedPostAttribute('meta').wp_social_bot_text") == CUSTOM,
        "the text in the post's meta")
    until(driver, lambda d: d.find_element("css selector", ".editor-post-publish-panel__toggle"),
          "the publish button").click()
    until(driver, lambda d: d.find_element("css selector", ".editor-post-publish-panel .editor-post-publish-button"),
          "the confirm button").click()
    until(driver, lambda d: d.execute_script("var e = wp.data.select('core/editor');"
                                             "return e.isCurrentPostPublished() && !e.isSavingPost()"), "published")
    post_id = int(driver.execute_script("return wp.data.select('core/editor').getCurrentPostId()"))
    screenshot(driver, tmp_path, "wordpress-block-editor")
    assert saved_meta(wp, post_id) == (False, CUSTOM)
    assert ("publish", post_id) in [(b["event"], b["post_id"]) for b in map(signed, bot.wait(1))]


@pytest.mark.browser
@pytest.mark.slow
def test_the_classic_editors_box_saves_the_choices(wp: WordPress, bot: Bot, driver: Any, tmp_path: Path) -> None:
    (wp.root / "wp-content" / "mu-plugins" / "classic-switch.php").write_text(CLASSIC_SWITCH)
    sign_in(driver, wp, classic=True)
    driver.get(wp.base + "/wp-admin/post-new.php")
    until(driver, lambda d: d.find_element("id", "title"), "the classic editor").send_keys("خبر من المحرر الكلاسيكي")
    share = until(driver, lambda d: d.find_element("id", "wp-social-bot-share"), "the share box")
    assert share.is_selected(), "share is on by default"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", share)
    share.click()
    driver.find_element("id", "wp-social-bot-text").send_keys(CUSTOM)
    post_id = int(driver.find_element("id", "post_ID").get_attribute("value"))
    # Leaving the title saves the new post as a draft (WordPress's autosave, through the heartbeat): a click on
    # Publish while that runs is ignored. Done, it empties #auto_draft and turns the buttons back on.
    until(driver, lambda d: d.execute_script("return jQuery('#auto_draft').val() === ''"
                                             " && !jQuery('#publish').hasClass('disabled')"), "the autosave done")
    publish = driver.find_element("id", "publish")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", publish)
    publish.click()
    # WordPress drops "message=6" from the address bar once the page is in (wp_admin_canonical_url): read the
    # post's status off the reloaded form instead.
    until(driver, lambda d: "post.php" in d.current_url and d.find_element(
        "id", "original_post_status").get_attribute("value") == "publish", "the post published")
    screenshot(driver, tmp_path, "wordpress-classic-editor")
    assert saved_meta(wp, post_id) == (False, CUSTOM)
    assert ("publish", post_id) in [(b["event"], b["post_id"]) for b in map(signed, bot.wait(1))]
