"""A post corrected on each platform, against the fakes over real sockets: its text edited in place where the
platform lets it be (Telegram's messages and photo captions, Facebook, Mastodon with its media and its history,
Discord with its embed, the console), refused without a request where it does not (X, Bluesky, Instagram,
Threads); a post deleted already told apart from a refusal (``Gone``), and each edit's errors mapped."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, get_args

import pytest
import requests
from pydantic import TypeAdapter

from bot.clock import ManualClock
from bot.config import AccountConfig, ConsoleAccount
from bot.config.cards import CardsConfig
from bot.errors import AuthFailed, Gone, PlatformError, RateLimited, Rejected, Unavailable
from bot.pictures import Pictures
from bot.platforms import Post, Publisher, make_publisher
from bot.platforms.base import EDITABLE_PLATFORMS
from bot.platforms.bluesky import BlueskyPublisher
from bot.platforms.console import ConsolePublisher
from bot.platforms.discord import DiscordPublisher
from bot.platforms.facebook import FacebookPublisher
from bot.platforms.instagram import InstagramPublisher
from bot.platforms.mastodon import MastodonPublisher
from bot.platforms.telegram import TelegramPublisher
from bot.platforms.threads import ThreadsPublisher
from bot.platforms.x import XPublisher

from .kit.configs import account
from .kit.e2e import EndToEnd
from .kit.fake_bluesky import FakeBluesky
from .kit.fake_discord import FakeDiscord
from .kit.fake_facebook import FakeFacebook, graph_error, not_there
from .kit.fake_instagram import FakeInstagram
from .kit.fake_mastodon import FakeMastodon, error
from .kit.fake_telegram import FakeTelegram
from .kit.fake_threads import FakeThreads, threads_error
from .kit.fake_x import SPEC, FakeX
from .kit.servers import Answer, FakeServer, FeedServer
from .kit.wordpress import Item

LINK = "https://news.example/?p=190"
HEADLINE = "الحكومة تقر الموازنة العامة بعد جلسة مطولة"
FIXED = "الحكومة تقر الموازنة العامة بعد جلستين مطولتين"  # the editor's correction
PHOTO_HEADLINE = "صور: افتتاح جسر الجادرية الجديد في بغداد"
PHOTO_FIXED = "صور: افتتاح جسر الجادرية الجديد في بغداد بحضور المحافظ"
SUMMARY = "صوت مجلس النواب على قانون الموازنة العامة بعد نقاش طويل."
SUMMARY_FIXED = "صوت مجلس النواب على قانون الموازنة العامة بعد نقاش استمر يومين."


def post(title: str, n: int = 1, link: str = LINK, **kw: Any) -> Post:
    """The post of a headline as the template ``{title}\\n\\n{short_link}`` makes it."""
    return Post(n, f"{title}\n\n{link}", link=link, title=title, **kw)


def publisher_on(fake: FakeServer, clock: ManualClock, account_id: str, **settings: Any) -> Publisher:
    """A publisher of the account ``account_id`` on ``fake`` (no bot, no store); its cards go on the brand
    colour (the article's page, on news.example, is not asked for a photo)."""
    config = TypeAdapter(AccountConfig).validate_python(account(fake, account_id, **settings))
    return make_publisher(config, clock=clock, pictures=Pictures(CardsConfig(photo=False)))


# --- which platforms can edit ------------------------------------------------------------------------------

def test_can_edit_is_true_exactly_for_the_platforms_whose_api_edits() -> None:
    classes: dict[str, type[Any]] = {
        "console": ConsolePublisher, "x": XPublisher, "telegram": TelegramPublisher, "facebook": FacebookPublisher,
        "mastodon": MastodonPublisher, "bluesky": BlueskyPublisher, "discord": DiscordPublisher,
        "instagram": InstagramPublisher, "threads": ThreadsPublisher}
    models = get_args(get_args(AccountConfig)[0])
    assert set(classes) == {get_args(m.model_fields["platform"].annotation)[0] for m in models}  # every platform
    for platform, cls in classes.items():
        assert cls.can_edit is (platform in EDITABLE_PLATFORMS), platform
        assert callable(cls.edit) and callable(cls.delete)


@pytest.mark.parametrize(("fixture", "name"), [("fake_x", "X"), ("bluesky", "Bluesky"), ("instagram", "Instagram"),
                                               ("threads", "Threads")])
def test_where_the_api_cannot_edit_edit_is_refused_without_a_request(
    request: pytest.FixtureRequest, clock: ManualClock, fixture: str, name: str,
) -> None:
    fake: FakeServer = request.getfixturevalue(fixture)
    publisher = publisher_on(fake, clock, "acct")
    assert publisher.can_edit is False
    with pytest.raises(Rejected, match=rf"^{name}'s API does not let posts be edited$") as refused:
        publisher.edit("1861000000000000001", post(FIXED))
    assert not isinstance(refused.value, Gone)
    assert fake.arrived == [] and fake.calls == []  # not even a login
    publisher.close()


def test_x_has_no_edit_route_and_its_fake_refuses_one_as_x_does(fake_x: FakeX, clock: ManualClock) -> None:
    from requests_oauthlib import OAuth1

    if SPEC.exists():  # X's own OpenAPI document: a post is read or deleted, never replaced
        paths = json.loads(SPEC.read_text(encoding="utf-8"))["paths"]
        assert set(paths["/2/tweets/{id}"]) == {"get", "delete"}
    publisher = publisher_on(fake_x, clock, "x")
    tweet_id = publisher.publish(post(HEADLINE)).remote_id
    c = fake_x.credentials()
    auth = OAuth1(c["consumer_key"], c["consumer_secret"], c["access_token"], c["access_token_secret"])
    for method in ("PUT", "PATCH"):  # signed as X wants: only the route is wrong
        answer = requests.request(method, f"{fake_x.base}/2/tweets/{tweet_id}", json={"text": post(FIXED).text},
                                  auth=auth, timeout=5)
        assert answer.status_code == 404 and "does not exist" in answer.json()["detail"]
    assert [t["text"] for t in fake_x.tweets] == [post(HEADLINE).text]
    assert fake_x.edit_attempts == [("PUT", f"/2/tweets/{tweet_id}"), ("PATCH", f"/2/tweets/{tweet_id}")]
    publisher.close()


def test_bluesky_refuses_a_posts_record_rewritten_and_the_bot_never_tries(
    bluesky: FakeBluesky, clock: ManualClock,
) -> None:
    publisher = publisher_on(bluesky, clock, "bsky", link_card=False)
    uri = publisher.publish(post(HEADLINE)).remote_id
    assert uri is not None
    rkey = uri.rsplit("/", 1)[-1]
    with pytest.raises(Rejected):
        publisher.edit(uri, post(FIXED))
    assert bluesky.edit_attempts == []
    session = requests.post(f"{bluesky.base}/xrpc/com.atproto.server.createSession",
                            json={"identifier": bluesky.handle, "password": bluesky.password}, timeout=5).json()
    record = {**bluesky.records[rkey], "text": post(FIXED).text}
    answer = requests.post(f"{bluesky.base}/xrpc/com.atproto.repo.putRecord", timeout=5,
                           headers={"Authorization": f"Bearer {session['accessJwt']}"},
                           json={"repo": bluesky.did, "collection": "app.bsky.feed.post", "rkey": rkey,
                                 "record": record})
    assert answer.status_code == 400 and answer.json()["error"] == "InvalidRequest"
    assert bluesky.records[rkey]["text"] == post(HEADLINE).text and len(bluesky.edit_attempts) == 1
    publisher.close()


# --- Telegram ------------------------------------------------------------------------------------------------

def telegram_items(base: str) -> list[Item]:
    return [Item(180, HEADLINE, ["سياسة"], site=base),
            Item(181, PHOTO_HEADLINE, ["صور"], site=base, image=f"{base}/up/bridge.jpg")]


TELEGRAM = EndToEnd("tg", telegram_items, {"chat_id": "@qurays_news", "image": True, "timeout": "2s"},
                    image_path="/up/bridge.jpg")


def test_telegram_edits_a_message_and_a_photo_posts_caption_and_tells_a_deleted_one(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = TELEGRAM.queued(TELEGRAM.config(tmp_path, feed_server, telegram), clock, feed_server, 2)
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"]
    text, photo = telegram.messages
    assert (text["kind"], photo["kind"]) == ("text", "photo")
    text_id, photo_id = str(text["message_id"]), str(photo["message_id"])
    publisher = bot.publishers["tg"]
    assert publisher.can_edit is True
    fixed = post(FIXED, 1, "https://news.example/?p=180")
    publisher.edit(text_id, fixed)
    assert text["text"] == fixed.text
    assert text["link_preview_options"] == {"url": fixed.link, "prefer_large_media": True}  # as publish gave it
    publisher.edit(text_id, fixed)  # the same again: Telegram says "message is not modified", which is done
    caption = post(PHOTO_FIXED, 2, "https://news.example/?p=181")
    publisher.edit(photo_id, caption)
    publisher.edit(photo_id, caption)
    assert photo["caption"] == caption.text and telegram.photos[photo["photo"]]  # the picture stays
    assert [(e["message_id"], e["method"], e["after"]) for e in telegram.edits] == [
        (text["message_id"], "editMessageText", fixed.text), (photo["message_id"], "editMessageCaption", caption.text)]
    methods = [path.rsplit("/", 1)[-1] for _, path, _ in telegram.calls if "/edit" in path]
    assert methods == ["editMessageText"] * 3 + ["editMessageCaption", "editMessageText", "editMessageCaption"]

    too_long = post(f"{PHOTO_FIXED} {'تفاصيل ' * 200}", 2)  # a message's length, not a caption's
    with pytest.raises(Rejected, match=r"longer than a photo's caption \(1024\)") as refused:
        publisher.edit(photo_id, too_long)
    assert not isinstance(refused.value, Gone) and photo["caption"] == caption.text
    assert [path for _, path, _ in telegram.calls].count(f"/bot{telegram.token}/editMessageCaption") == 2

    for message_id in (text_id, photo_id):
        publisher.delete(message_id)
        with pytest.raises(Gone, match="message to delete not found"):
            publisher.delete(message_id)
        with pytest.raises(Gone, match="message to edit not found"):
            publisher.edit(message_id, fixed)
    assert telegram.messages == []
    bot.close()


def test_telegram_refuses_an_old_message_in_its_own_words_and_escapes_an_html_edit(
    telegram: FakeTelegram, clock: ManualClock,
) -> None:
    publisher = publisher_on(telegram, clock, "tg", parse_mode="HTML")
    message_id = publisher.publish(post(HEADLINE)).remote_id
    assert message_id is not None
    publisher.edit(message_id, post("الحكومة & البرلمان <محدث>"))
    [message] = telegram.messages
    assert message["text"].startswith("الحكومة &amp; البرلمان &lt;محدث&gt;") and message["parse_mode"] == "HTML"
    telegram.uneditable.add(int(message_id))
    telegram.undeletable.add(int(message_id))
    with pytest.raises(Rejected, match="message can't be edited") as edit_refused:
        publisher.edit(message_id, post(FIXED))
    with pytest.raises(Rejected, match=r"message can't be deleted.*right to delete messages") as delete_refused:
        publisher.delete(message_id)
    assert not isinstance(edit_refused.value, Gone) and not isinstance(delete_refused.value, Gone)
    assert len(telegram.messages) == 1
    publisher.close()


# --- Facebook ------------------------------------------------------------------------------------------------

def test_facebook_edits_a_posts_message_and_keeps_its_link(facebook: FakeFacebook, clock: ManualClock) -> None:
    publisher = publisher_on(facebook, clock, "fb")
    post_id = publisher.publish(post(HEADLINE)).remote_id
    assert post_id is not None
    publisher.edit(post_id, post(FIXED))
    publisher.edit(post_id, post(FIXED))  # the same again: Facebook answers success
    [page_post] = facebook.posts
    assert page_post["message"] == post(FIXED).text and page_post["link"] == LINK
    assert page_post["edits"] == [post(HEADLINE).text]
    publisher.delete(post_id)
    with pytest.raises(Gone, match="does not exist"):
        publisher.delete(post_id)
    with pytest.raises(Gone, match=r"Unsupported post request.*does not exist"):
        publisher.edit(post_id, post(FIXED))
    publisher.close()


# --- Mastodon ------------------------------------------------------------------------------------------------

def mastodon_items(base: str) -> list[Item]:
    return [Item(161, PHOTO_HEADLINE, ["صور"], site=base, image=f"{base}/up/photo.jpg")]


MASTODON = EndToEnd("masto", mastodon_items, {"image": True, "timeout": "2s"}, image_path="/up/photo.jpg")


def test_mastodon_edits_a_status_keeping_its_media_and_language_and_history(
    tmp_path: Path, feed_server: FeedServer, mastodon: FakeMastodon, clock: ManualClock,
) -> None:
    bot = MASTODON.queued(MASTODON.config(tmp_path, feed_server, mastodon), clock, feed_server, 1)
    assert [o.status for o in bot.dispatch()] == ["sent"]
    [status] = mastodon.statuses
    [media] = status["media_attachments"]
    fixed = post(PHOTO_FIXED, 1, "https://news.example/?p=161")
    publisher = bot.publishers["masto"]
    publisher.edit(status["id"], fixed)
    publisher.edit(status["id"], fixed)  # the same again: no new version
    assert status["text"] == fixed.text and status["edited_at"] is not None
    assert [m["id"] for m in status["media_attachments"]] == [media["id"]]  # named again: kept
    assert status["language"] == "ar"
    original, edited = mastodon.history[status["id"]]
    assert original["content"] != edited["content"] == f"<p>{fixed.text}</p>"
    assert [m["id"] for m in edited["media_attachments"]] == [media["id"]]
    # Mastodon drops the media an edit does not name: what the publisher's reading the status first is for
    dropped = requests.put(f"{mastodon.base}/api/v1/statuses/{status['id']}", data={"status": fixed.text + " ."},
                           headers={"Authorization": f"Bearer {mastodon.token}"}, timeout=5)
    assert dropped.status_code == 200 and dropped.json()["media_attachments"] == []
    bot.close()


def test_mastodon_tells_a_deleted_status(mastodon: FakeMastodon, clock: ManualClock) -> None:
    publisher = publisher_on(mastodon, clock, "masto")
    status_id = publisher.publish(post(HEADLINE)).remote_id
    assert status_id is not None
    publisher.edit(status_id, post(FIXED))
    assert mastodon.statuses[0]["text"] == post(FIXED).text and mastodon.statuses[0]["media_attachments"] == []
    publisher.delete(status_id)
    with pytest.raises(Gone, match="Record not found"):
        publisher.delete(status_id)
    with pytest.raises(Gone, match="Record not found"):
        publisher.edit(status_id, post(FIXED))
    with pytest.raises(Rejected, match="character limit of 500") as refused:  # a text the instance refuses
        publisher.edit(publisher.publish(post(HEADLINE, 2)).remote_id or "", post("ب" * 501, 2))
    assert not isinstance(refused.value, Gone)
    publisher.close()


# --- Discord -------------------------------------------------------------------------------------------------

PHOTO = "https://news.example/wp-content/uploads/2026/11/budget.jpg"


def test_discord_edits_the_content_and_the_embeds_headline_keeping_its_picture(
    discord: FakeDiscord, clock: ManualClock,
) -> None:
    publisher = publisher_on(discord, clock, "dc")
    message_id = publisher.publish(post(HEADLINE, summary=SUMMARY, image_urls=(PHOTO,))).remote_id
    assert message_id is not None
    fixed = post(FIXED, summary=SUMMARY_FIXED, image_urls=(PHOTO,))
    publisher.edit(message_id, fixed)
    publisher.edit(message_id, fixed)  # the same again: harmless
    [message] = discord.messages
    assert message["content"] == fixed.text and message["edited_timestamp"] is not None
    [shown] = message["embeds"]
    assert (shown["title"], shown["description"], shown["url"], shown["image"]) == (
        FIXED, SUMMARY_FIXED, LINK, {"url": PHOTO})
    assert [e["before"]["content"] for e in discord.edits] == [post(HEADLINE).text, fixed.text]
    publisher.delete(message_id)
    with pytest.raises(Gone, match="Unknown Message"):
        publisher.delete(message_id)
    with pytest.raises(Gone, match="10008"):
        publisher.edit(message_id, fixed)
    publisher.close()


def test_discord_keeps_an_uploaded_card_and_edits_a_plain_message_in_one_request(
    discord: FakeDiscord, clock: ManualClock,
) -> None:
    carded = publisher_on(discord, clock, "dc", image="card")
    message_id = carded.publish(post(HEADLINE, summary=SUMMARY)).remote_id
    assert message_id is not None
    [message] = discord.messages
    [card] = message["attachments"]
    carded.edit(message_id, post(FIXED, summary=SUMMARY_FIXED))
    assert message["attachments"] == [card] and discord.files[message_id]  # the card is the file it was
    assert message["embeds"][0]["image"] == {"url": f"attachment://{card['filename']}"}
    assert message["embeds"][0]["title"] == FIXED  # closed_clean checks the attachment it names is kept
    carded.close()
    plain = publisher_on(discord, clock, "dc", embed=False)
    message_id = plain.publish(post(HEADLINE, 2)).remote_id
    assert message_id is not None
    before = len(discord.calls)
    plain.edit(message_id, post(FIXED, 2))
    assert [m for m, _, _ in discord.calls[before:]] == ["PATCH"] and discord.messages[1]["embeds"] == []
    plain.close()


# --- the console ---------------------------------------------------------------------------------------------

def test_the_console_prints_an_edit_and_writes_it_marked(tmp_path: Path) -> None:
    out = io.StringIO()
    output = tmp_path / "posts.jsonl"
    publisher = make_publisher(ConsoleAccount(id="console", platform="console", count_as="x", output=str(output)),
                               stream=out)
    published = publisher.publish(post(HEADLINE, 7))
    assert published.remote_id == "console-7"
    publisher.edit("console-7", post(FIXED, 7))
    printed = out.getvalue()
    assert "── console · edited console-7 · " in printed and f"\n{post(FIXED, 7).text}\n" in printed
    first, edited = (json.loads(line) for line in output.read_text(encoding="utf-8").splitlines())
    assert "edited" not in first and edited["edited"] == "console-7" and edited["text"] == post(FIXED, 7).text


# --- deletes of a post not there ----------------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["problem", "false", "404"])
def test_x_tells_a_deleted_post_however_it_says_so(fake_x: FakeX, clock: ManualClock, answer: str) -> None:
    fake_x.missing_delete = answer
    publisher = publisher_on(fake_x, clock, "x")
    tweet_id = publisher.publish(post(HEADLINE)).remote_id
    assert tweet_id is not None
    publisher.delete(tweet_id)
    assert fake_x.tweets == []
    with pytest.raises(Gone, match=f"post {tweet_id} is not there"):
        publisher.delete(tweet_id)
    publisher.close()


def test_bluesky_deletes_a_record_not_there_as_done(bluesky: FakeBluesky, clock: ManualClock) -> None:
    """The PDS answers success to a deleteRecord of a record not there: a second delete is done, not Gone."""
    publisher = publisher_on(bluesky, clock, "bsky", link_card=False)
    uri = publisher.publish(post(HEADLINE)).remote_id
    assert uri is not None
    publisher.delete(uri)
    publisher.delete(uri)
    assert bluesky.records == {}
    publisher.close()


def test_threads_and_instagram_tell_a_deleted_post(
    threads: FakeThreads, instagram: FakeInstagram, clock: ManualClock,
) -> None:
    on_threads = publisher_on(threads, clock, "th")
    media_id = on_threads.publish(post(HEADLINE)).remote_id
    assert media_id is not None
    on_threads.delete(media_id)
    with pytest.raises(Gone, match="does not exist"):
        on_threads.delete(media_id)
    on_threads.close()
    on_instagram = publisher_on(instagram, clock, "ig")
    with pytest.raises(Gone, match=r"does not exist.*delete it in the Instagram app"):
        on_instagram.delete("17900000000000777")
    on_instagram.close()


def test_does_not_exist_is_gone_only_for_the_post_an_edit_or_a_delete_names(
    facebook: FakeFacebook, threads: FakeThreads, clock: ManualClock,
) -> None:
    """A publish answered "Object with ID … does not exist" names a wrong page or user: Rejected, not Gone."""
    on_facebook = publisher_on(facebook, clock, "fb")
    facebook.fail_next("/v26.0", not_there("POST", facebook.page_id))
    with pytest.raises(Rejected, match="does not exist") as refused:
        on_facebook.publish(post(HEADLINE))
    assert not isinstance(refused.value, Gone)
    on_facebook.close()
    on_threads = publisher_on(threads, clock, "th")
    threads.fail_step("container", threads_error(400, 100, f"Unsupported post request. Object with ID "
                                                            f"'{threads.user_id}' does not exist", error_subcode=33))
    with pytest.raises(Rejected, match="does not exist") as refused:
        on_threads.publish(post(HEADLINE))
    assert not isinstance(refused.value, Gone)
    on_threads.close()


# --- an edit's errors ----------------------------------------------------------------------------------------

FAULTS: dict[str, tuple[str, dict[str, Answer]]] = {
    "telegram": ("/bot", {
        "429": Answer(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                            "parameters": {"retry_after": 7}}),
        "401": Answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
        "5xx": Answer(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})}),
    "facebook": ("/v26.0", {
        "429": graph_error(429, 4, "(#4) Application request limit reached"),
        "401": graph_error(401, 190, "Error validating access token: The session has been invalidated"),
        "5xx": graph_error(500, 2, "Service temporarily unavailable", is_transient=True)}),
    "mastodon": ("/api/", {
        "429": error(429, "Too many requests", **{"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                                                  "X-RateLimit-Reset": "2099-01-01T00:00:00.000Z"}),
        "401": error(401, "The access token is invalid"),
        "5xx": error(503, "Service Unavailable")}),
    "discord": ("/api/webhooks", {
        "429": Answer(429, {"message": "You are being rate limited.", "retry_after": 2.5, "global": False},
                      {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "2.5"}),
        "401": Answer(401, {"message": "Invalid Webhook Token", "code": 50027}),
        "5xx": Answer(502, {"message": "502: Bad Gateway", "code": 0})}),
}
KINDS: dict[str, type[PlatformError]] = {"429": RateLimited, "401": AuthFailed, "5xx": Unavailable}


@pytest.mark.parametrize("trouble", sorted(KINDS))
@pytest.mark.parametrize("platform", sorted(FAULTS))
def test_an_edits_errors_map_as_a_posts_do(
    request: pytest.FixtureRequest, clock: ManualClock, platform: str, trouble: str,
) -> None:
    fake: FakeServer = request.getfixturevalue(platform)
    publisher = publisher_on(fake, clock, "acct")
    remote_id = publisher.publish(post(HEADLINE, summary=SUMMARY)).remote_id
    assert remote_id is not None
    path, answers = FAULTS[platform]
    fake.fail_next(path, answers[trouble])
    with pytest.raises(KINDS[trouble]) as failed:
        publisher.edit(remote_id, post(FIXED, summary=SUMMARY_FIXED))
    if isinstance(failed.value, RateLimited):
        assert failed.value.until > clock.now()
    clock.advance(60)  # past Discord's pause
    publisher.edit(remote_id, post(FIXED, summary=SUMMARY_FIXED))  # once the platform answers again: edited
    publisher.close()
