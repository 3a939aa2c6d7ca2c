"""Discord channels, through one of the channel's webhooks (``POST {webhook_url}?wait=true``).

The post's text is the message's ``content``; with ``embed: true`` an embed carries the headline (cut at a
word to 256), the article's link, its excerpt (cut at a word to 4096) and its picture (``image:``): the
article's first image by its address, or a headline card uploaded with the message (multipart
``payload_json`` and ``files[0]``, shown as ``attachment://card.png`` or ``card.jpg``). Mentions never
ping (``allowed_mentions: {parse: []}``): a headline with ``@everyone`` stays text. ``?wait=true`` makes
Discord answer with the message, whose id ``bot unpost`` deletes.

| Discord says                                           | outcome                                  |
| ------------------------------------------------------ | ---------------------------------------- |
| no connection (refused, DNS, connect timeout)          | Unavailable: retried with backoff        |
| read timeout, broken answer, 5xx                       | MaybeSent: the delivery is in doubt      |
| 429 with ``retry_after`` (seconds)                     | RateLimited for that long                |
| ``X-RateLimit-Remaining: 0`` on a post that went       | the next post waits ``Reset-After``      |
| 401, 403, 404 Unknown Webhook (10015)                  | AuthFailed: the account is held          |
| 404 Unknown Message (10008)                            | Gone: the message is not there           |
| 400 and other refusals                                 | Rejected, with Discord's own message     |

An edit is ``PATCH {webhook_url}/messages/{id}`` with the new ``content``. A message with an embed (a post with
a link) is read first (``GET {webhook_url}/messages/{id}``): its embed's headline, link and excerpt are made
again as publish makes them, and its picture is kept (an uploaded card stays the file it is, named again as
``attachment://``). A delete is ``DELETE {webhook_url}/messages/{id}``.

The webhook's URL holds its token: messages name the webhook by its id only. A webhook has no idempotency
key: a send interrupted by a crash, or whose answer never came, is marked in_doubt, never resent blindly.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from bot.clock import Clock, SystemClock
from bot.compose.fit import ELLIPSIS, cut_words
from bot.compose.length import DISCORD, DISCORD_EMBED_DESCRIPTION, DISCORD_EMBED_TITLE
from bot.config import DiscordAccount
from bot.errors import AuthFailed, Gone, MaybeSent, RateLimited, Rejected
from bot.media import Image
from bot.netguard import content_session
from bot.pictures import Pictures
from bot.platforms.base import Post, Published
from bot.platforms.http import Reply, send

#: how long to wait on a 429 that says nothing of how long (Discord always says; a proxy may not)
DEFAULT_RATE_WAIT = timedelta(seconds=60)
UNKNOWN_WEBHOOK, UNKNOWN_MESSAGE = 10015, 10008
WHAT = {"POST": "post", "PATCH": "edit", "DELETE": "delete"}


class DiscordPublisher:
    """One Discord channel, posted to through one webhook with :func:`bot.platforms.http.send`."""

    rule = DISCORD
    resend_is_safe = False  # no idempotency key: an interrupted send is in doubt
    resend_window: timedelta | None = None
    can_edit = True

    def __init__(self, account: DiscordAccount, clock: Clock | None = None, user_agent: str = "wp-social-bot",
                 *, pictures: Pictures):
        self.account_id = account.id
        self.account = account
        self.pictures = pictures
        self.clock = clock or SystemClock()
        self.user_agent = user_agent
        self.session = requests.Session()
        url = account.webhook_url.get_secret_value()
        self.hook = f"{account.base_url}{urlsplit(url).path.rstrip('/')}" if account.base_url else url.rstrip("/")
        self.webhook_id, self._token = account.webhook_parts
        #: not before then: Discord said the rate limit's bucket was empty (``X-RateLimit-Remaining: 0``)
        self.paused_until: datetime | None = None

    def publish(self, post: Post) -> Published:
        self._not_paused()
        body: dict[str, Any] = {"content": post.text, "allowed_mentions": {"parse": []}}
        card = None
        if self.account.embed and post.link:  # a text posted by hand without a link is only its text
            body["embeds"] = [embed(post, self.account.image)]
            if self.account.image == "card" or (self.account.image == "article_or_card" and
                                                "image" not in body["embeds"][0]):
                card = self._card(post)
                if card is not None:  # uploaded with the message, shown as the embed's image
                    name = "card.jpg" if card.content_type == "image/jpeg" else "card.png"
                    body["embeds"][0]["image"] = {"url": f"attachment://{name}"}
        if self.account.username:
            body["username"] = self.account.username
        if self.account.avatar_url:
            body["avatar_url"] = self.account.avatar_url
        try:
            message = self._call("POST", self.hook, params={"wait": "true"}, json=body) if card is None else \
                self._call("POST", self.hook, params={"wait": "true"}, data={"payload_json": json.dumps(body)},
                           files={"files[0]": (name, card.data, card.content_type)})
        except MaybeSent as exc:  # where a person can look whether it went out
            exc.check = exc.check or f"the Discord channel of webhook {self.webhook_id}"
            raise
        message_id = str(message["id"])
        guild = message.get("guild_id") or self.account.guild_id
        channel = message.get("channel_id")
        url = f"https://discord.com/channels/{guild}/{channel}/{message_id}" if guild and channel else None
        return Published(message_id, url)

    #: the article's image goes by its address (the embed's ``image.url``), not downloaded and uploaded
    picture_by_address = True

    def picture_mode(self, post: Post) -> str:
        """The picture this post carries: its embed's, where it has an embed (a post with a link)."""
        return self.account.image if self.account.embed and post.link else "none"

    def _card(self, post: Post) -> Image | None:
        """The post's headline card (the article's image behind it, downloaded with limits), or None."""
        with content_session() as images:
            return self.pictures.for_account(post, self.account, session=images, user_agent=self.user_agent,
                                             mode="card")

    def check(self) -> str:
        hook = self._call("GET", self.hook)
        return f"webhook «{hook.get('name') or self.webhook_id}» in channel {hook.get('channel_id')}"

    def delete(self, remote_id: str) -> None:
        self._call("DELETE", f"{self.hook}/messages/{remote_id}")

    def edit(self, remote_id: str, post: Post) -> None:
        self._not_paused()
        url = f"{self.hook}/messages/{remote_id}"
        body: dict[str, Any] = {"content": post.text, "allowed_mentions": {"parse": []}}
        if self.account.embed and post.link:  # publish gave it an embed: its headline and excerpt made again
            message = self._call("GET", url)
            if message.get("embeds"):
                body |= edited_embed(post, message)
        self._call("PATCH", url, json=body)

    def _not_paused(self) -> None:
        """RateLimited while Discord's headers said the webhook's bucket is empty."""
        if self.paused_until is not None and self.clock.now() < self.paused_until:
            raise RateLimited(f"Discord's rate limit for webhook {self.webhook_id} is used up until it resets",
                              self.paused_until)

    def close(self) -> None:
        self.session.close()

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        reply = send(self.session, method, url, platform="Discord", timeout=self.account.timeout.total_seconds(),
                     user_agent=self.user_agent, **kwargs)
        answer = reply.body if isinstance(reply.body, dict) else {}
        if 200 <= reply.status < 300:
            self._note_bucket(reply)
            return answer
        said = self._said(reply.status, answer)
        if reply.status == 429:
            raise RateLimited(f"Discord rate limited webhook {self.webhook_id} ({said})", self._retry_at(reply))
        if reply.status >= 500:
            raise MaybeSent(f"Discord answered {said}")
        code = answer.get("code")
        if reply.status == 404 and code == UNKNOWN_MESSAGE:
            raise Gone(f"Discord says the message is not there ({said})")
        if reply.status in (401, 403) or reply.status == 404:
            raise AuthFailed(f"Discord refused webhook {self.webhook_id} ({said}): it was deleted or its URL is "
                             "wrong; copy the channel's webhook URL into webhook_url")
        raise Rejected(f"Discord refused the {WHAT.get(method, 'request')} ({said})")

    def _said(self, status: int, answer: dict[str, Any]) -> str:
        """Discord's own words (``message``, and the fields ``errors`` names), never the token."""
        words = str(answer.get("message") or f"HTTP {status}")
        fields = "; ".join(_errors(answer.get("errors")))
        code = f" {answer['code']}" if isinstance(answer.get("code"), int) and answer["code"] else ""
        text = f"{status}{code}: {words}" + (f" ({fields})" if fields else "")
        return text.replace(self._token, "***") if self._token else text

    def _retry_at(self, reply: Reply) -> datetime:
        """When Discord takes posts again: its ``retry_after`` (seconds, with a fraction), else its headers."""
        answer = reply.body if isinstance(reply.body, dict) else {}
        for value in (answer.get("retry_after"), reply.headers.get("Retry-After"),
                      reply.headers.get("X-RateLimit-Reset-After")):
            seconds = _seconds(value)
            if seconds is not None:
                return self.clock.now() + timedelta(seconds=seconds)
        return self.clock.now() + DEFAULT_RATE_WAIT

    def _note_bucket(self, reply: Reply) -> None:
        """Discord's headers say the webhook's bucket is empty: the next post waits for its reset."""
        reset = _seconds(reply.headers.get("X-RateLimit-Reset-After"))
        if reply.headers.get("X-RateLimit-Remaining") == "0" and reset is not None:
            self.paused_until = self.clock.now() + timedelta(seconds=reset)


def embed(post: Post, image_mode: str = "article") -> dict[str, Any]:
    """The article as a Discord embed: headline, link, excerpt and (``image_mode`` article or article_or_card)
    its first image by its address, within Discord's limits."""
    out: dict[str, Any] = {}
    if post.title:
        out["title"] = cut(post.title, DISCORD_EMBED_TITLE)
    if post.link:
        out["url"] = post.link
    if post.summary:
        out["description"] = cut(post.summary, DISCORD_EMBED_DESCRIPTION)
    image = next((u for u in post.image_urls if u.lower().startswith(("https://", "http://"))), None)
    if image and image_mode in ("article", "article_or_card"):
        out["image"] = {"url": image}
    return out


def edited_embed(post: Post, message: dict[str, Any]) -> dict[str, Any]:
    """What an edit sends of a message's embed: its headline, link and excerpt made again from ``post`` (as
    :func:`embed` makes them) and the picture it shows kept. A picture uploaded with the message (a card) is
    named by its file again (``attachment://card.png``), and the message's files are kept."""
    old = (message.get("embeds") or [{}])[0]
    new = embed(post, "none")
    files = [a for a in message.get("attachments") or [] if isinstance(a, dict) and a.get("filename")]
    image = str((old.get("image") or {}).get("url") or "")
    if image:
        path = urlsplit(image).path
        name = next((f["filename"] for f in files if image == f"attachment://{f['filename']}"
                     or path.endswith(f"/{f['filename']}")), None)
        new["image"] = {"url": f"attachment://{name}" if name else image}
    return {"embeds": [new], **({"attachments": [{"id": f["id"]} for f in files]} if files else {})}


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` code points, cut at a word with ``…`` when it is longer (a single word
    longer than that is cut inside it: nothing else would fit)."""
    if len(text) <= limit:
        return text
    words, keep, length = text.split(), 0, -1
    for word in words:  # the words and their spaces, and the ellipsis, within the limit
        if length + 1 + len(word) + len(ELLIPSIS) > limit:
            break
        length, keep = length + 1 + len(word), keep + 1
    return cut_words(words, keep, True) if keep else text[:limit - 1] + ELLIPSIS


def _seconds(value: object) -> float | None:
    """A number of seconds Discord gave (a JSON number or a header), or None when it is not one."""
    if not isinstance(value, int | float | str) or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds < 86_400 * 7 else None


def _errors(errors: object, path: str = "") -> list[str]:
    """Discord's nested ``errors`` (``{"embeds": {"0": {"title": {"_errors": [{message}]}}}}``) as
    ``embeds.0.title: message``."""
    if not isinstance(errors, dict):
        return []
    found: list[str] = []
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            found += [f"{path or 'body'}: {e.get('message')}" for e in value if isinstance(e, dict)]
        else:
            found += _errors(value, f"{path}.{key}" if path else str(key))
    return found[:5]
