"""Threads profiles, through Meta's Threads API (``graph.threads.net``, v1.0).

A post is two steps: a container (``POST /{user-id}/threads``), then ``POST /{user-id}/threads_publish`` with
its ``creation_id``. With ``image: none`` the container is TEXT with the article's link as its
``link_attachment`` (Threads draws the link card); with a picture (``image: article | card | article_or_card``)
it is IMAGE, its ``image_url`` the picture put at the bot's own public address (``server.public_url``), which
Meta's crawler fetches. The bot waits for the container's ``status`` to be FINISHED (at once for a text, at
most the account's ``timeout`` for an image), and withdraws the image once the post is published. The post's
address is asked of Threads (``GET /{media-id}?fields=permalink``).

Before each post the bot reads ``threads_publishing_limit``: Threads allows 250 API-published posts per
profile in a moving 24 hours. When they are used up the account waits; Threads says how many posts the window
holds, not when its oldest leaves it, so the bot asks again every :data:`QUOTA_RECHECK`.

| Threads says                                             | outcome                                     |
| -------------------------------------------------------- | ------------------------------------------- |
| no connection, or anything at the quota, container or    | Unavailable: retried (those steps post      |
| status step (a 5xx, a read timeout)                      | nothing)                                    |
| a 5xx, 1, 2, ``is_transient`` or no answer at publish    | MaybeSent: the delivery is in doubt         |
| 4, 17, 32, 613, a 429 (rate limits); the quota used up   | RateLimited                                 |
| 190 (token), 10 and 200–299 (permissions)                | AuthFailed: the account is held (asked once |
|                                                          | more first if the token changed meanwhile)  |
| a container's ERROR (its ``error_message``), more than 5 | Rejected, with Threads' words               |
| links (``THREADS_API__LINK_LIMIT_EXCEEDED``), others     |                                             |
| a delete of a post not there (100, subcode 33)           | Gone                                        |

The Threads API has no edit: ``edit`` is Rejected without a request. A delete is ``DELETE /{media-id}``.

Only ``threads_publish`` posts, and Threads takes no idempotency key: a send interrupted by a crash, or whose
publish was not answered (or answered without a post's id), is in doubt. An id Threads gives that is not one
(digits) is never used: a container's is Unavailable, a post's in doubt. The database failing before the
container (the token, the picture's address) is Unavailable: nothing was sent.

The long-lived token is the store's refreshed one while it came from the config's (:mod:`bot.platforms.meta`);
``token_expiry`` (the daily token check) refreshes it when less than 30 days remain. A send reads it once; a
refusal of the token while another one has become current (refreshed meanwhile, by this process or another
replica) asks once more with the current one instead of holding the account.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from bot.clock import Clock, SystemClock
from bot.compose.length import THREADS, unique_links
from bot.config import ThreadsAccount
from bot.errors import AuthFailed, MaybeSent, MediaError, PlatformError, RateLimited, Rejected, Unavailable
from bot.netguard import content_session
from bot.pictures import Hosted, Pictures
from bot.platforms import meta
from bot.platforms.base import Post, Published

log = logging.getLogger("bot.platforms.threads")

API_VERSION = "v1.0"
#: How often a used-up publishing quota is asked again (one GET each time).
QUOTA_RECHECK = timedelta(minutes=15)
#: The waits between two reads of an image container's status (seconds; the last one repeats).
STATUS_WAITS = (0.5, 1.0, 2.0, 3.0)


@dataclass
class Auth:
    """The token a send uses: read once, and replaced when Threads refuses it and another is current."""

    value: str


class ThreadsPublisher:
    """One Threads profile, posted to with its long-lived token through :func:`bot.platforms.meta.call`."""

    rule = THREADS
    resend_is_safe = False  # no idempotency key: an interrupted publish is in doubt
    resend_window: timedelta | None = None
    can_edit = False  # no edit in the Threads API

    def __init__(self, account: ThreadsAccount, clock: Clock | None = None, user_agent: str = "wp-social-bot",
                 *, pictures: Pictures, tokens: meta.TokenStore | None = None):
        self.account_id = account.id
        self.account = account
        self.pictures = pictures
        self.clock = clock or SystemClock()
        self.user_agent = user_agent
        self.tokens = tokens
        self.session = requests.Session()
        self.images = content_session()  # article images: URLs from content
        self.root = (account.base_url or "https://graph.threads.net").rstrip("/")
        self.base = f"{self.root}/{API_VERSION}"

    def publish(self, post: Post) -> Published:
        token = Auth(self._token())
        self._quota(token)
        hosted = self._hosted(post)
        where = f"the Threads profile of user {self.account.user_id}"
        try:
            container = self._container(post, hosted, token)
            try:
                answer = self._call("POST", f"/{self.account.user_id}/threads_publish", token, may_have_posted=True,
                                    data={"creation_id": container})
            except MaybeSent as exc:  # where a person can look whether it went out
                exc.check = exc.check or where
                raise
        finally:
            if hosted is not None and self.pictures.host is not None:  # Meta has it, or will not need it
                self.pictures.host.drop(hosted)
        media_id = meta.valid_id(answer.get("id"))
        if media_id is None:  # a success without the post's id: it may be posted
            raise MaybeSent(f"Threads answered threads_publish without a post's id ({_shown(answer.get('id'))})",
                            check=where)
        return Published(media_id, self._permalink(media_id, token))

    def check(self) -> str:
        me = self._call("GET", "/me", Auth(self._token()), params={"fields": "id,username"})
        if str(me.get("id")) != self.account.user_id:
            raise Rejected(f"the token is @{me.get('username')}'s (user {me.get('id')}), not user "
                           f"{self.account.user_id}'s: put that user's token or id in the config")
        return f"@{me.get('username')} ({me.get('id')})"

    def delete(self, remote_id: str) -> None:
        """Delete a post (``DELETE /{media-id}``: the token needs threads_delete; 100 deletes a day)."""
        if meta.valid_id(remote_id) is None:
            raise Rejected(f"{_shown(remote_id)} is not a Threads post's id")
        self._call("DELETE", f"/{remote_id}", Auth(self._token()))

    def edit(self, remote_id: str, post: Post) -> None:
        raise Rejected("Threads's API does not let posts be edited")

    def token_expiry(self) -> datetime | None:
        """When the account's token expires, after refreshing it when less than 30 days remain."""
        return meta.refresh_if_due(self.tokens, self.account_id, self.account.access_token.get_secret_value(),
                                   self.clock.now(), self._refresh)

    def close(self) -> None:
        self.session.close()
        self.images.close()

    def _token(self) -> str:
        """The token to post with now (Unavailable when the database cannot say: nothing was sent)."""
        try:
            return meta.current_token(self.tokens, self.account_id,
                                      self.account.access_token.get_secret_value()).value
        except Exception as exc:  # the store's trouble, before any request
            raise meta.store_trouble("read this account's token", exc) from exc

    def _refresh(self, token: str) -> tuple[str, datetime | None]:
        return meta.refresh(self.session, f"{self.root}/refresh_access_token", "th_refresh_token", token,
                            platform="Threads", timeout=self.account.timeout.total_seconds(),
                            user_agent=self.user_agent, now=self.clock.now)

    def _quota(self, token: Auth) -> None:
        """RateLimited when the profile's 250 posts in 24 hours are used up."""
        answer = self._call("GET", f"/{self.account.user_id}/threads_publishing_limit", token,
                            params={"fields": "quota_usage,config"})
        data = answer.get("data")
        limit = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        config = limit.get("config")
        config = config if isinstance(config, dict) else {}
        used, total = meta.number(limit.get("quota_usage")), meta.number(config.get("quota_total")) or 250
        hours = (meta.number(config.get("quota_duration")) or 86_400) / 3600
        if used >= total:
            raise RateLimited(f"Threads' publishing quota is used up ({used} of {total} posts in {hours:g} h); "
                              f"asked again in {QUOTA_RECHECK.total_seconds() / 60:g} min",
                              self.clock.now() + QUOTA_RECHECK)

    def _hosted(self, post: Post) -> Hosted | None:
        """The post's picture at a public address, or None (a text post; the reason logged)."""
        if self.account.image == "none":
            return None
        image = self.pictures.for_account(post, self.account, session=self.images, user_agent=self.user_agent)
        if image is None:
            return None
        try:
            return self.pictures.public(image, jpeg=True)
        except MediaError as exc:
            log.warning("account=%s delivery=%d posts without its picture: %s", self.account_id, post.delivery_id,
                        exc)
            return None
        except Exception as exc:  # the database would not keep it: nothing was sent
            raise meta.store_trouble("put the post's picture at its public address", exc) from exc

    def _container(self, post: Post, hosted: Hosted | None, token: Auth) -> str:
        """A ready container for the post: its id."""
        data: dict[str, str] = {"text": post.text}
        if hosted is not None:
            data |= {"media_type": "IMAGE", "image_url": hosted.url}
        else:
            data["media_type"] = "TEXT"
            if post.link and len(unique_links(post.text) | {post.link}) <= (THREADS.max_links or 5):
                data["link_attachment"] = post.link  # counted as a link unless the text has it already
        answer = self._call("POST", f"/{self.account.user_id}/threads", token, data=data)
        container = meta.valid_id(answer.get("id"))
        if container is None:
            raise Unavailable(f"Threads made no container (its answer's id: {_shown(answer.get('id'))})")
        self._wait_ready(container, token)  # a text container is ready at once: one read
        return container

    def _wait_ready(self, container: str, token: Auth) -> None:
        """Wait until the container is ready (``status`` FINISHED: Meta has fetched and processed an image), at
        most the account's timeout: ERROR is Rejected with Threads' ``error_message``; still not ready is
        Unavailable (nothing is posted)."""
        deadline = time.monotonic() + self.account.timeout.total_seconds()
        attempt = 0
        while True:
            status = self._call("GET", f"/{container}", token, params={"fields": "status,error_message"})
            state = str(status.get("status") or "")
            if state in ("FINISHED", "PUBLISHED"):
                return
            if state == "ERROR":
                raise Rejected(f"Threads could not make the post ({status.get('error_message') or 'ERROR'})")
            if state == "EXPIRED":
                raise Unavailable("Threads let the post's container expire before it was published")
            pause = STATUS_WAITS[min(attempt, len(STATUS_WAITS) - 1)]
            if time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
            attempt += 1
        raise Unavailable(f"Threads had not made the post ready within {self.account.timeout.total_seconds():g} s "
                          "(its container is IN_PROGRESS); tried again later")

    def _permalink(self, media_id: str, token: Auth) -> str | None:
        """Where the post is seen (one more request); None when Threads does not say: the post is made."""
        try:
            answer = self._call("GET", f"/{media_id}", token, params={"fields": "permalink"})
        except PlatformError as exc:
            log.warning("account=%s: post %s is published; its address is not known: %s", self.account_id,
                        media_id, exc.message)
            return None
        link = answer.get("permalink")
        return link if isinstance(link, str) and link.startswith("https://") else None

    def _call(self, method: str, path: str, token: Auth, *, may_have_posted: bool = False,
              **kwargs: Any) -> dict[str, Any]:
        """One request with the send's token; a refusal of it while another token is current (refreshed
        meanwhile) is asked once more with that one, which the rest of the send then uses."""
        try:
            return self._request(method, path, token.value, may_have_posted, dict(kwargs))
        except AuthFailed:
            current = self._token()
            if current == token.value:  # refused with the current token: the account is held
                raise
        log.info("account=%s: its token changed during this send (refreshed); asked again with the new one",
                 self.account_id)
        token.value = current
        return self._request(method, path, current, may_have_posted, kwargs)

    def _request(self, method: str, path: str, token: str, may_have_posted: bool,
                 kwargs: dict[str, Any]) -> dict[str, Any]:
        if method == "POST":
            kwargs["data"] = {**kwargs.get("data", {}), "access_token": token}
        else:
            kwargs["params"] = {**kwargs.get("params", {}), "access_token": token}
        return meta.call(self.session, method, self.base + path, platform="Threads",
                         timeout=self.account.timeout.total_seconds(), user_agent=self.user_agent,
                         now=self.clock.now, may_have_posted=may_have_posted, **kwargs)


def _shown(value: object) -> str:
    """What Meta gave for an id, shown short (it is not one)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
