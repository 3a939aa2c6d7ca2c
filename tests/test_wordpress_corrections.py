"""Corrections and retractions against a real WordPress (Debian's, with the companion plugin: the session's
``tests/kit/real_wordpress.py``) and a real ``bot run`` (feed polled once an hour: only the plugin's notices make
it look sooner). A headline corrected in WordPress is edited in place on Telegram and left alone on X (which
cannot edit), with the history saying why; a trashed post is deleted from X (``on_retract: delete``) and flagged
for Telegram in ``bot status``. And WordPress's own REST answers for posts that are not public, read as the bot
reads them: published, draft, private, trashed and deleted posts, as a visitor and as an editor."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.feeds import new_session
from bot.feeds.wordpress import post_standing, published_ids

from .kit.clock import manual_clock
from .kit.configs import account
from .kit.fake_telegram import FakeTelegram
from .kit.fake_x import FakeX
from .kit.paths import ROOT
from .kit.real_wordpress import WordPress
from .kit.runs import bot_process, free_port, wait_for
from .kit.servers import closed_clean

SECRET = "corrections-plugin-secret-2b9d"
pytestmark = pytest.mark.slow


@dataclass
class Site:
    wp: WordPress
    x: FakeX
    tg: FakeTelegram
    config: Path
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def status(self) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "bot", "status", "--json", "--config", str(self.config)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result


@pytest.fixture(scope="module")
def site(real_wordpress: WordPress, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    wp = real_wordpress
    folder = tmp_path_factory.mktemp("corrections")
    x, tg = FakeX(manual_clock()), FakeTelegram()
    port = free_port()
    bot_user = wp.users["socialbot"]
    config = {
        "site": {"name": "قريش", "url": wp.base, "timezone": "Asia/Baghdad", "wordpress_api": True,
                 "wordpress_user": bot_user.login, "wordpress_password": bot_user.app_password},
        "database": f"sqlite:///{folder / 'bot.sqlite3'}",
        "feeds": [{"id": "main", "url": f"{wp.base}/?feed=rss2", "interval": "1h"}],
        "server": {"host": "127.0.0.1", "port": port, "plugin_secret": SECRET},
        "dispatch_interval": "1h",
        "accounts": [account(x, "x", template="{title}\n{short_link}", on_edit="update", on_retract="delete"),
                     account(tg, "tg", template="{title}\n{short_link}", image=False, on_edit="update")],
    }
    path = folder / "bot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    log = folder / "daemon.log"
    wp.php("update_option( 'wp_social_bot_share_default', true );")
    with log.open("wb") as out:
        proc = bot_process("run", "--config", str(path), stderr=out, PYTHONUNBUFFERED="1")
        try:
            s = Site(wp, x, tg, path, log)
            wait_for(lambda: "first_start=yes" in s.text(), what="the bot's first poll")
            wp.set_constants(url=f"http://127.0.0.1:{port}", secret=SECRET)
            yield s
        finally:
            wp.set_constants()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            closed_clean(x)
            closed_clean(tg)


def test_a_corrected_headline_is_edited_on_telegram_and_left_on_x(site: Site) -> None:
    title = "وزير النقل يفتتح مطار الموصل الدولي"
    corrected = "وزير النقل يفتتح مطار الموصل الدولي بعد إعادة إعماره"
    post_id = site.wp.publish(title)
    link = f"{site.wp.base}/?p={post_id}"
    wait_for(lambda: any(m.get("text") == f"{title}\n{link}" for m in site.tg.messages), what="the post on Telegram")
    wait_for(lambda: any(t["text"] == f"{title}\n{link}" for t in site.x.tweets), what="the post on X")
    site.wp.update(post_id, title=corrected)  # the plugin's notice pings the bot: it reads the feed again
    edit = wait_for(lambda: next((e for e in site.tg.edits if e["after"] == f"{corrected}\n{link}"), None),
                    what="the Telegram post edited")
    assert edit["before"] == f"{title}\n{link}" and edit["method"] == "editMessageText"
    assert [t["text"] for t in site.x.tweets if link in t["text"]] == [f"{title}\n{link}"]  # X cannot edit
    assert not [m for m, _ in site.x.arrived if m in ("PUT", "PATCH")]
    wait_for(lambda: "status=corrected" in site.text(), what="the log line")


def test_a_trashed_post_is_deleted_from_x_and_flagged_for_telegram(site: Site) -> None:
    title = "الداخلية تعلن نتائج التحقيق في حادث الطريق السريع"
    post_id = site.wp.publish(title)
    link = f"{site.wp.base}/?p={post_id}"
    wait_for(lambda: any(t["text"] == f"{title}\n{link}" for t in site.x.tweets), what="the post on X")
    wait_for(lambda: any(m.get("text") == f"{title}\n{link}" for m in site.tg.messages), what="the post on Telegram")
    site.wp.trash(post_id)
    wait_for(lambda: not any(link in t["text"] for t in site.x.tweets), what="the X post deleted")
    assert any(m.get("text") == f"{title}\n{link}" for m in site.tg.messages)  # flagged, not deleted
    [flag] = [p for p in site.status()["problems"] if p["kind"] == "withdrawn" and p["title"] == title]
    assert "trashed on the site (the plugin's notice)" in flag["why"]
    assert [(p["account"], p["deleting"]) for p in flag["posts"]] == [("tg", False)]


def test_wordpress_says_which_posts_are_not_public_as_the_bot_reads_it(real_wordpress: WordPress) -> None:
    wp = real_wordpress
    ids = {s: wp.publish(f"خبر للتجربة ({s})") for s in ("publish", "draft", "private", "trash", "deleted")}
    wp.update(ids["draft"], status="draft")
    wp.update(ids["private"], status="private")
    wp.trash(ids["trash"])
    wp.delete(ids["deleted"])
    ask: dict[str, Any] = {"session": new_session(), "timeout": 10, "user_agent": "wp-social-bot tests"}
    editor = wp.users["socialbot"]
    auth = (editor.login, editor.app_password)
    # One request, as a visitor and as the editor: only the published one is listed.
    assert published_ids(wp.base, list(ids.values()), **ask) == {ids["publish"]}
    assert published_ids(wp.base, list(ids.values()), auth=auth, **ask) == {ids["publish"]}
    # One post: WordPress's own answers (plain permalinks: /wp-json/ is the front page, ?rest_route= answers).
    visitor = {s: post_standing(wp.base, i, **ask) for s, i in ids.items()}
    assert visitor == {"publish": "publish", "draft": "not public", "private": "not public", "trash": "not public",
                       "deleted": "deleted"}
    as_editor = {s: post_standing(wp.base, i, auth=auth, **ask) for s, i in ids.items()}
    assert as_editor == {"publish": "publish", "draft": "draft", "private": "private", "trash": "trash",
                         "deleted": "deleted"}
    assert post_standing(wp.base, ids["publish"], auth=(editor.login, "wrong password here"), **ask) is None
