"""The editor's say from the companion WordPress plugin, on the bot's side, against a local server answering as
WordPress's REST API does in the edit context (the plugin's meta; Basic auth with an application password): not
shared → skipped with the reason, at the poll or at the first send; a custom text in place of the headline, fitted;
breaking → the priority and the breaking template; a site that does not answer holds the post a while, then it
goes; an edit's notice moves waiting posts both ways; the plugin panel's status, signed."""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.composer import SAY_WAIT
from bot.config import load_config
from bot.core import Bot
from bot.errors import ConfigError, WordPressError
from bot.feeds import new_session
from bot.feeds.wordpress import EditorSay, fetch_post, parse_say
from bot.lifecycle import NOT_SHARED_NOTE
from bot.models import DeliveryState
from bot.operations import Operations
from bot.web import WebSide
from bot.web.app import Hooks, build_app
from bot.web.notice import sign

from .kit.clock import manual_clock
from .kit.configs import posts, sample_site
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, Item, rest_post, rss2

NEW = Item(140, "البرلمان يصوت على قانون الموازنة العامة بعد جلسة طويلة", ["العراق", "البرلمان"])
EDIT = "/wp-json/wp/v2/posts/140?_embed&context=edit"
USER, PASSWORD = "socialbot", "abcd EFGH ijkl MNOP qrst UVWX"
SECRET = "plugin-s3cret-5d1e"


def meta(share: bool = True, text: str = "", breaking: bool = False, **texts: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"wp_social_bot_share": share, "wp_social_bot_text": text,
                              "wp_social_bot_breaking": breaking}
    fields.update({f"wp_social_bot_text_{n}": t for n, t in texts.items()})
    return fields


def answer(feed_server: FeedServer, item: Item = NEW, status: int = 200, **say: Any) -> None:
    body = rest_post(item, ["العراق"], ["البرلمان"])
    body["meta"] = meta(**say)
    feed_server.set(f"/wp-json/wp/v2/posts/{item.post_id}?_embed&context=edit", json.dumps(body), status=status,
                    content_type="application/json", conditional=False)


def site(tmp_path: Path, feed_server: FeedServer, **account: Any) -> Bot:
    path = sample_site(
        tmp_path, feed_server, feed={"site_url": feed_server.base},
        site={"name": "قريش", "url": feed_server.base, "wordpress_api": True, "wordpress_user": USER,
              "wordpress_password": PASSWORD, "allowed_hosts": ["news.example"], "timezone": "Asia/Baghdad"},
        server={"host": "127.0.0.1", "port": 0, "plugin_secret": SECRET},
        accounts=[{"id": "console", "platform": "console", "output": str(tmp_path / "posts.jsonl"),
                   "template": "{title}\n{short_link}", **account}],
    )
    return Bot.open(load_config(path), clock=manual_clock())


def publish(bot: Bot, feed_server: FeedServer, *items: Item) -> None:
    bot.poll("main")  # the first start: what the feed holds is only marked seen
    feed_server.set("/feed", rss2([*items, *SAMPLE_ITEMS]))
    bot.poll("main")


def row(bot: Bot, item: Item = NEW) -> Any:
    [found] = [d for d in bot.store.deliveries() if d.guid == item.guid]
    return found


def test_the_say_is_read_from_the_plugins_meta() -> None:
    assert parse_say({"footnotes": ""}) is None  # no plugin (or not asked as an editor)
    assert parse_say(None) is None
    said = parse_say(meta(False, "  نص   مخصص\u200f للخبر ", True, x="للمنصة إكس", telegram="", nope="x"))
    assert said == EditorSay(False, "نص مخصص للخبر", True, {"x": "للمنصة إكس"})
    # Older saves and odd values: "1"/"" as WordPress keeps them; anything else keeps the default.
    assert parse_say({"wp_social_bot_share": "", "wp_social_bot_breaking": "1"}) == EditorSay(False, "", True, {})
    assert parse_say({"wp_social_bot_share": [1], "wp_social_bot_text": 5}) == EditorSay(True, "", False, {})
    assert len(parse_say(meta(text="كلمة " * 1000)).text) <= 1000  # type: ignore[union-attr]


def test_fetch_post_asks_as_the_editor_and_says_when_refused(feed_server: FeedServer) -> None:
    answer(feed_server, share=False)
    post = fetch_post(feed_server.base, 140, session=new_session(), timeout=2, user_agent="t", auth=(USER, PASSWORD))
    assert post.say == EditorSay(share=False)
    [seen] = feed_server.hits(EDIT)
    assert seen.headers["Authorization"] == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    answer(feed_server, status=401)
    with pytest.raises(WordPressError, match=r"refused site\.wordpress_user 'socialbot'"):
        fetch_post(feed_server.base, 140, session=new_session(), timeout=2, user_agent="t", auth=(USER, PASSWORD))


def test_credentials_go_together_and_need_the_api(tmp_path: Path, feed_server: FeedServer) -> None:
    for site_settings, said in (({"wordpress_api": True, "wordpress_user": USER}, "go together"),
                                ({"wordpress_user": USER, "wordpress_password": "x"}, "wordpress_api is false")):
        path = sample_site(tmp_path, feed_server, site={"name": "قريش", "url": feed_server.base, **site_settings})
        with pytest.raises(ConfigError, match=said):
            load_config(path)
    empty = sample_site(tmp_path, feed_server, site={"name": "قريش", "url": feed_server.base, "wordpress_api": True,
                                                     "wordpress_user": "", "wordpress_password": ""})
    assert load_config(empty).site.wordpress_auth is None  # ${WP_APP_PASSWORD:-} unset: no say is read


def test_not_shared_is_skipped_at_the_poll_with_the_reason(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    answer(feed_server, share=False)
    bot = site(tmp_path, feed_server)
    publish(bot, feed_server, NEW)
    d = row(bot)
    assert (d.state, d.note) == (DeliveryState.SKIPPED.value, NOT_SHARED_NOTE)
    assert bot.dispatch() == [] and posts(tmp_path) == []
    assert "the editor chose not to share it: 1 post(s) skipped" in caplog.text
    assert PASSWORD not in caplog.text
    bot.close()


def test_not_shared_is_caught_at_the_first_send_when_the_poll_could_not_read_it(
    tmp_path: Path, feed_server: FeedServer,
) -> None:
    answer(feed_server, status=503, share=False)  # the site is busy while the poll runs
    bot = site(tmp_path, feed_server)
    publish(bot, feed_server, NEW)
    assert row(bot).state == DeliveryState.QUEUED.value
    answer(feed_server, share=False)  # and answers when the dispatcher asks
    [outcome] = bot.dispatch()
    assert (outcome.status, outcome.detail) == ("skipped", NOT_SHARED_NOTE)
    assert posts(tmp_path) == [] and row(bot).state == DeliveryState.SKIPPED.value
    bot.close()


def test_a_site_that_does_not_answer_holds_the_post_then_it_goes(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture,
) -> None:
    answer(feed_server, status=500)
    bot = site(tmp_path, feed_server)
    clock = bot.clock
    assert isinstance(clock, ManualClock)
    publish(bot, feed_server, NEW)
    [outcome] = bot.dispatch()
    assert outcome.status == "retry" and "editor's say" in str(outcome.detail)
    assert posts(tmp_path) == [] and row(bot).attempts == 0  # waiting is not a failed attempt
    clock.advance(SAY_WAIT + timedelta(seconds=1))
    caplog.set_level(logging.WARNING)
    [outcome] = bot.dispatch()
    assert outcome.status == "sent"
    assert "could not be read from the site within" in caplog.text
    [post] = posts(tmp_path)
    assert post["text"].startswith(NEW.title)
    bot.close()


def test_the_custom_text_is_posted_in_place_of_the_headline_and_fitted(
    tmp_path: Path, feed_server: FeedServer,
) -> None:
    long_text = "تابعوا التغطية المباشرة لجلسة البرلمان " + "والتصويت على بنود الموازنة العامة " * 12
    answer(feed_server, text=long_text)
    bot = site(tmp_path, feed_server, count_as="x")
    publish(bot, feed_server, NEW)
    [outcome] = bot.dispatch()
    assert outcome.status == "sent"
    [post] = posts(tmp_path)
    text, link = post["text"].split("\n")
    assert text.startswith("تابعوا التغطية المباشرة") and text.endswith("…") and NEW.title not in post["text"]
    assert long_text.startswith(text[:-1].rstrip())  # cut at a word, never inside one
    assert link == f"{feed_server.base}/?p=140"  # the link is never dropped
    assert row(bot).title == NEW.title  # the headline stays the article's (cards, history)
    bot.close()


def test_a_text_for_one_network_wins_there() -> None:
    from bot.models import Article

    article = Article("main", "g", "العنوان", "https://news.example/?p=1", custom_text="للجميع",
                      custom_texts=(("telegram", "لتلغرام"),))
    assert (article.text_for("telegram"), article.text_for("x")) == ("لتلغرام", "للجميع")
    assert Article("main", "g", "العنوان", "l").text_for("x") == "العنوان"


def test_breaking_takes_the_breaking_priority_and_template(tmp_path: Path, feed_server: FeedServer) -> None:
    answer(feed_server, breaking=True)
    bot = site(tmp_path, feed_server, priority={"عاجل": 10},
               templates={"عاجل": "🔴 عاجل | {title}\n{short_link}"})
    publish(bot, feed_server, NEW)
    assert row(bot).priority == 10  # before the first send: the queue's order sees it
    [article] = [a for a in bot.store.articles() if a.guid == NEW.guid]
    assert article.breaking and "عاجل" in article.names  # the card's band reads its names
    bot.dispatch()
    [post] = posts(tmp_path)
    assert post["text"].startswith("🔴 عاجل | " + NEW.title)
    bot.close()


def test_an_edits_notice_moves_waiting_posts_both_ways(tmp_path: Path, feed_server: FeedServer) -> None:
    answer(feed_server)
    bot = site(tmp_path, feed_server, approval={"all": True})  # the post waits for a person
    publish(bot, feed_server, NEW)
    assert row(bot).state == DeliveryState.AWAITING_APPROVAL.value
    answer(feed_server, share=False)
    assert bot.say.notice("update", 140, NEW.link) == 1
    assert (row(bot).state, row(bot).note) == (DeliveryState.SKIPPED.value, NOT_SHARED_NOTE)
    answer(feed_server, share=True)
    assert bot.say.notice("update", 140, "") == 1
    assert row(bot).state == DeliveryState.AWAITING_APPROVAL.value  # its approval still applies
    assert bot.say.notice("trash", 140, "") == 0  # a retraction is not the editor's say (issue 20's)
    bot.close()


def test_a_sent_or_hand_made_post_is_never_moved(tmp_path: Path, feed_server: FeedServer) -> None:
    answer(feed_server)
    bot = site(tmp_path, feed_server)
    publish(bot, feed_server, NEW)
    bot.dispatch()
    answer(feed_server, share=False)
    bot.say.notice("update", 140, "")
    assert row(bot).state == DeliveryState.SENT.value
    bot.close()


def status_request(base: str, body: bytes, secret: str = SECRET) -> tuple[int, Any]:
    ts = str(int(time.time()))
    request = urllib.request.Request(f"{base}/wordpress/status", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-WP-Social-Bot-Timestamp": ts,
        "X-WP-Social-Bot-Signature": sign(secret, ts, body)})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_panels_status_signed(tmp_path: Path, feed_server: FeedServer) -> None:
    answer(feed_server)
    bot = site(tmp_path, feed_server)
    publish(bot, feed_server, NEW)
    bot.dispatch()
    hooks = Hooks(lambda: (True, {}), None, lambda: None, plugin_secret=lambda: SECRET, post_status=bot.say.status)
    web = WebSide("127.0.0.1", 0, build_app(hooks), lambda: None, plugin_secret=lambda: SECRET)
    web.start()
    base = f"http://127.0.0.1:{web.port}"
    try:
        status, said = status_request(base, json.dumps({"post_id": 140, "url": "", "nonce": "a1"}).encode())
        assert status == 200 and said["found"] is True and said["title"] == NEW.title
        [acc] = said["accounts"]
        assert (acc["account"], acc["platform"], acc["state"]) == ("console", "console", "sent")
        assert acc["at"].endswith("+03:00")  # the site's time zone (Asia/Baghdad)
        # By its address too (a post published with its permalink as guid), and a post the bot does not know.
        assert status_request(base, json.dumps({"post_id": 0, "url": NEW.link, "nonce": "a2"}).encode())[1]["found"]
        status, said = status_request(base, json.dumps({"post_id": 999, "nonce": "a3"}).encode())
        assert (status, said["found"], said["accounts"]) == (200, False, [])
        assert status_request(base, json.dumps({"post_id": 140, "nonce": "a4"}).encode(), secret="wrong")[0] == 404
        ts = str(int(time.time()))
        head = {"Content-Type": "application/json", "X-WP-Social-Bot-Timestamp": ts,
                "X-WP-Social-Bot-Signature": sign(SECRET, ts, b'{"post_id": 140, "nonce": "a5"}')}
        codes = []
        for _ in range(2):
            request = urllib.request.Request(f"{base}/wordpress/status", data=b'{"post_id": 140, "nonce": "a5"}',
                                             method="POST", headers=head)
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:
                    codes.append(resp.status)
            except urllib.error.HTTPError as exc:
                codes.append(exc.code)
        assert codes == [200, 404]  # the same signed request twice: the second is a replay
    finally:
        web.stop()
        bot.close()


def test_a_text_post_made_by_hand_is_not_held_for_an_editors_say_it_cannot_have(
    tmp_path: Path, feed_server: FeedServer,
) -> None:
    # The console's "post now" of a plain text: there is no WordPress post, so no say to wait for.
    bot = site(tmp_path, feed_server)
    bot.poll("main")
    [result] = Operations(bot).manual_post(text="تنويه: مؤتمر صحفي عند الظهر", url=None, account_ids=["console"],
                                           link=None, image=None, dry_run=False, force=False, by="هدى")
    assert result.status == "sent", result  # no WordPress post, no say to wait for
    bot.close()


def test_a_definite_404_is_not_a_site_that_does_not_answer(tmp_path: Path, feed_server: FeedServer) -> None:
    # /wp/v2/posts/<id> 404s for a page or a custom post type the plugin handles (it registers its meta for
    # several post types): the bot cannot ever read that say, yet holds every such post 5 minutes, then ignores it.
    answer(feed_server, status=404, share=False)
    bot = site(tmp_path, feed_server)
    publish(bot, feed_server, NEW)
    [outcome] = bot.dispatch()
    assert outcome.status == "sent", outcome  # not held for an answer that will never change
    bot.close()


def test_the_say_and_the_api_check_are_recorded_together(tmp_path: Path, feed_server: FeedServer) -> None:
    # The check and the say are one write: a dispatcher right after it never sees "asked" without the say.
    answer(feed_server, status=503, share=False)
    bot = site(tmp_path, feed_server)
    publish(bot, feed_server, NEW)  # the poll's eager read failed: the post waits
    answer(feed_server, share=False)
    real = bot.store.record_api_data
    other: list[Any] = []

    def then(*args: Any, **kw: Any) -> None:
        real(*args, **kw)
        if not other:
            other.append(bot.dispatch())  # the other replica's dispatcher, the instant after the write

    bot.store.record_api_data = then  # type: ignore[method-assign]
    bot.say.refresh(row(bot).article_id)  # a notice's (or the poll's) read
    assert posts(tmp_path) == [] and [o.status for o in other[0]] == ["skipped"], other
    bot.close()


def test_shared_again_keeps_its_wait(tmp_path: Path, feed_server: FeedServer) -> None:
    answer(feed_server)
    bot = site(tmp_path, feed_server)
    publish(bot, feed_server, NEW)
    d = row(bot)
    from datetime import timedelta
    later = bot.clock.now() + timedelta(hours=1)
    with bot.store.engine.begin() as c:  # e.g. a retry's backoff, a rate limit's reset
        from bot.store.tables import deliveries
        c.execute(deliveries.update().where(deliveries.c.id == d.id).values(not_before=later))
    answer(feed_server, share=False)
    bot.say.notice("update", 140, "")
    answer(feed_server, share=True)
    bot.say.notice("update", 140, "")
    assert row(bot).state == DeliveryState.QUEUED.value
    assert row(bot).not_before == later  # its wait is kept
    bot.close()


def test_a_post_with_no_findable_id_is_not_held(tmp_path: Path, feed_server: FeedServer) -> None:
    # Published in one step (the permalink as guid), its page giving no short link: the bot cannot ask.
    pretty = Item(141, "وزارة الصحة تعلن حملة تلقيح جديدة", ["صحة"], pretty_guid=True, site=feed_server.base)
    answer(feed_server, item=pretty)  # its page (and so its rel=shortlink) is not to be had: a 404
    bot = site(tmp_path, feed_server)
    publish(bot, feed_server, pretty)
    outcomes = bot.dispatch()
    assert [o.status for o in outcomes] == ["sent"], outcomes
    bot.close()



def test_a_post_made_by_hand_goes_though_the_editor_said_not_to_share(tmp_path: Path, feed_server: FeedServer) -> None:
    from bot.models import Article

    other = Item(142, "مؤتمر صحفي لوزير الخارجية", ["العراق"], site=feed_server.base)
    answer(feed_server, item=other, share=False)
    bot = site(tmp_path, feed_server)
    bot.poll("main")
    bot.store.add_manual([Article("main", f"{feed_server.base}/?p=142", other.title,
                          f"{feed_server.base}/?p=142")], ["console"], bot.clock.now(), "هدى")
    [o] = bot.dispatch()
    assert o.status == "sent"  # a person asked for it
    bot.close()


def test_a_post_that_may_have_gone_out_is_never_moved_by_the_say(tmp_path: Path, feed_server: FeedServer) -> None:
    from bot.store.tables import deliveries

    answer(feed_server)
    bot = site(tmp_path, feed_server)
    publish(bot, feed_server, NEW)
    with bot.store.engine.begin() as c:  # queued again after a doubtful send (an operator's retry)
        c.execute(deliveries.update().where(deliveries.c.id == row(bot).id).values(maybe_posted=True))
    answer(feed_server, share=False)
    bot.say.notice("update", 140, "")
    assert row(bot).state == DeliveryState.QUEUED.value  # store/say.py: _AUTOMATIC's maybe_posted
    bot.close()
