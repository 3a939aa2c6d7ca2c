"""Bluesky (AT Protocol), through the ``atproto`` client.

One session per account, made at the first post and refreshed by the client before its token expires (not
a login per post). Links and hashtags are made live with facets at UTF-8 byte offsets; the article gets a
link card (title, excerpt, thumbnail ≤ 1 MB); ``langs`` names the site's language. Each post's record key
is a TID derived from its delivery, so a resend after a crash cannot make a second post: the PDS refuses
the existing key (or the bot finds the record already there) and the delivery counts as posted.

| the PDS says                                  | outcome                                     |
| --------------------------------------------- | ------------------------------------------- |
| network error, 5xx (no record there)          | Unavailable: retried with backoff           |
| 429 (ratelimit-reset)                         | RateLimited until the reset                 |
| 401 at login, bad app password, taken down    | AuthFailed: the account is held             |
| the record key exists already                 | Duplicate: counted as posted                |
| other 400                                     | Rejected, with the PDS's own message        |

Bluesky has no edit: ``edit`` is Rejected without a request (a post's record is never rewritten with
``putRecord``). A delete is ``com.atproto.repo.deleteRecord``, which the PDS answers with success for a record
that is not there (deleted already): a second delete is done too, never Gone.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import Clock, SystemClock
from bot.compose.hashtags import hashtag_spans
from bot.compose.length import BLUESKY, URL
from bot.config import BlueskyAccount
from bot.errors import AuthFailed, Duplicate, MediaError, PlatformError, RateLimited, Rejected, Unavailable
from bot.media import Image
from bot.netguard import content_session
from bot.pictures import Pictures
from bot.platforms.base import Post, Published

log = logging.getLogger("bot.bluesky")

MAX_THUMB = 1_000_000
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
DEFAULT_RATE_WAIT = timedelta(minutes=5)


def tid(when: datetime, clock_id: int) -> str:
    """A TID (the record key form Bluesky posts use): microseconds since the epoch and a 10-bit clock id,
    base32-sortable, 13 characters."""
    return _tid(int(when.timestamp() * 1_000_000), clock_id)


def _tid(micros: int, clock_id: int) -> str:
    n = ((micros & (2**53 - 1)) << 10) | (clock_id & 0x3FF)
    out = ""
    for _ in range(13):
        out = _TID_ALPHABET[n & 31] + out
        n >>= 5
    return out


def record_key(delivery_id: int, queued_at: datetime) -> str:
    """A post's record key, the same at every attempt and another for every other post: a TID whose time is
    the second the delivery (or its repost) was queued, with the delivery's id in the microseconds and the
    clock id (``id mod 1024`` there, ``id div 1024`` in the microseconds). Two deliveries share a key only
    if queued in the same second with ids 1,024,000,000 apart; a repost is queued in a later second."""
    seconds = int(queued_at.timestamp())
    return _tid(seconds * 1_000_000 + (delivery_id >> 10) % 1_000_000, delivery_id & 0x3FF)


def facets(text: str) -> list[dict[str, Any]]:
    """Link and hashtag facets of a post, at UTF-8 byte offsets."""
    def at(i: int) -> int:
        return len(text[:i].encode("utf-8"))

    out: list[dict[str, Any]] = []
    for m in URL.finditer(text):
        uri = m.group(0).rstrip(".,;:!?)»")
        out.append({"index": {"byteStart": at(m.start()), "byteEnd": at(m.start() + len(uri))},
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}]})
    for start, end, tag in hashtag_spans(text):
        out.append({"index": {"byteStart": at(start), "byteEnd": at(end)},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}]})
    return sorted(out, key=lambda f: f["index"]["byteStart"])


class BlueskyPublisher:
    """One Bluesky account (handle and app password) on its PDS, with one session kept across posts."""

    rule = BLUESKY
    resend_is_safe = True  # the record key is the delivery's: a resend cannot post twice
    resend_window: timedelta | None = None
    can_edit = False  # no edit in Bluesky's API

    def __init__(self, account: BlueskyAccount, clock: Clock | None = None, user_agent: str = "wp-social-bot",
                 *, pictures: Pictures):
        from atproto import Client
        from atproto_client.request import Request

        self.account_id = account.id
        self.account = account
        self.pictures = pictures
        self.clock = clock or SystemClock()
        self.user_agent = user_agent
        self.images = content_session()
        timeout = account.timeout.total_seconds()
        self.client = Client(base_url=account.base_url or "https://bsky.social",
                             request=Request(timeout=timeout, headers={"User-Agent": user_agent}))
        self._did: str | None = None
        self._lock = threading.RLock()

    # The interface.

    def publish(self, post: Post) -> Published:
        from atproto import models

        did = self._session()
        rkey = record_key(post.delivery_id, post.queued_at or self.clock.now())
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post", "text": post.text, "langs": [self.account.language],
            "createdAt": self.clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        }
        spans = facets(post.text)
        if spans:
            record["facets"] = spans
        card = self._card(post)
        if card:
            record["embed"] = card
        try:
            self._call(self.client.com.atproto.repo.create_record, models.ComAtprotoRepoCreateRecord.Data(
                repo=did, collection="app.bsky.feed.post", rkey=rkey, record=record))
        except (Unavailable, Rejected) as exc:
            # A record with this key may be there already (a resend after a crash; older PDSes answer 500).
            if self._exists(did, rkey):
                raise Duplicate(f"the post is already there ({exc.message})", self._uri(did, rkey)) from exc
            raise
        return Published(self._uri(did, rkey), f"https://bsky.app/profile/{self.account.handle}/post/{rkey}")

    def check(self) -> str:
        did = self._session()
        return f"@{self.account.handle} ({did})"

    def delete(self, remote_id: str) -> None:
        from atproto import models

        did = self._session()
        self._call(self.client.com.atproto.repo.delete_record, models.ComAtprotoRepoDeleteRecord.Data(
            repo=did, collection="app.bsky.feed.post", rkey=remote_id.rsplit("/", 1)[-1]))

    def edit(self, remote_id: str, post: Post) -> None:
        raise Rejected("Bluesky's API does not let posts be edited")

    def close(self) -> None:
        self.images.close()
        self.client.request.close()

    # Helpers.

    def _session(self) -> str:
        """Log in once; the client refreshes the session itself before it expires."""
        with self._lock:
            if self._did is None:
                profile = self._call(self.client.login, self.account.handle,
                                     self.account.app_password.get_secret_value(), login=True)
                session = getattr(self.client, "_session", None)
                self._did = str(getattr(profile, "did", None) or getattr(session, "did", ""))
            return self._did

    @staticmethod
    def _uri(did: str, rkey: str) -> str:
        return f"at://{did}/app.bsky.feed.post/{rkey}"

    def _exists(self, did: str, rkey: str) -> bool:
        from atproto import models

        try:
            self._call(self.client.com.atproto.repo.get_record, models.ComAtprotoRepoGetRecord.Params(
                repo=did, collection="app.bsky.feed.post", rkey=rkey))
        except PlatformError:
            return False
        return True

    def picture_mode(self, post: Post) -> str:
        """The picture this post carries: its link card's thumbnail, where it has a link card."""
        return self.account.image if self.account.link_card and post.link else "none"

    def _card(self, post: Post) -> dict[str, Any] | None:
        if not self.account.link_card or not post.link:
            return None
        external: dict[str, Any] = {"uri": post.link, "title": post.title[:300], "description": post.summary[:300]}
        image = self.pictures.for_account(post, self.account, session=self.images, user_agent=self.user_agent,
                                          mode=self.picture_mode(post))
        if image is not None and len(image.data) > MAX_THUMB:  # a card over a photo is a large PNG
            from bot.pictures import as_jpeg

            with contextlib.suppress(MediaError):  # else: no thumbnail, as below
                image = Image(image.url, as_jpeg(image.data), "image/jpeg")
        if image is not None and len(image.data) <= MAX_THUMB:
            try:
                blob = self._call(self.client.upload_blob, image.data)
                external["thumb"] = blob.blob.model_dump(by_alias=True, exclude_none=True)
            except PlatformError as exc:
                log.warning("account=%s delivery=%d: the card goes without a thumbnail: %s", self.account_id,
                            post.delivery_id, exc.message)
        elif image is not None:
            log.info("account=%s delivery=%d: the image is over 1 MB; the card goes without a thumbnail",
                     self.account_id, post.delivery_id)
        return {"$type": "app.bsky.embed.external", "external": external}

    def _call(self, fn: Any, *args: Any, login: bool = False) -> Any:
        from atproto_client import exceptions as e

        try:
            return fn(*args)
        except e.RateLimitExceededError as exc:
            reset = exc.reset_at
            left = (reset - datetime.now(UTC)) if reset else timedelta(0)
            raise RateLimited(f"rate limited ({_message(exc)})",
                              self.clock.now() + (left if left > timedelta(0) else DEFAULT_RATE_WAIT)) from exc
        except e.UnauthorizedError as exc:
            with self._lock:
                self._did = None  # log in again next time
            raise AuthFailed(f"Bluesky refused the handle or app password ({_message(exc)})") from exc
        except e.NetworkError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status == 409:
                raise Rejected(f"the PDS refused the record (409: {_message(exc)})") from exc
            raise Unavailable(f"cannot reach the PDS ({_message(exc)})") from exc
        except e.RequestErrorBase as exc:
            status = exc.response.status_code if exc.response is not None else 0
            message = _message(exc)
            if login or re.search(r"AccountTakedown|AccountDeactivated|AuthFactorTokenRequired", message):
                raise AuthFailed(f"Bluesky refused this account ({message})") from exc
            if status >= 500:
                raise Unavailable(f"the PDS answered {status} ({message})") from exc
            raise Rejected(f"the PDS refused the post ({message})") from exc
        except e.LoginRequiredError as exc:
            raise AuthFailed("Bluesky wants a new login") from exc


def _message(exc: Any) -> str:
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    error = getattr(content, "error", None)
    message = getattr(content, "message", None)
    if error or message:
        return f"{getattr(response, 'status_code', '')} {error or ''}: {message or ''}".strip()
    return str(exc) or type(exc).__name__

