"""Instagram professional accounts, through the Instagram Graph API's content publishing (v26.0).

A post is a picture with a caption. The picture (``image:``: the article's image, a headline card, or a card
when the article has none) is put at an unguessable address of the bot's HTTP side as a JPEG, for an hour
(``server.public_url``, :mod:`bot.pictures`), because Instagram fetches it itself. Then:

1. ``GET /{ig-user-id}/content_publishing_limit``: is there room in the account's quota (posts per moving 24 h)?
2. ``POST /{ig-user-id}/media`` with ``image_url``, ``caption``, ``alt_text`` → a container (Instagram fetches
   the picture); ``GET /{container-id}?fields=status_code,status`` until it is FINISHED;
3. ``POST /{ig-user-id}/media_publish`` with ``creation_id`` → the post's id; its ``permalink`` is asked.

Instagram takes a photo from 4:5 to 1.91:1: with ``article_or_card`` an article's image of another shape (or
one that cannot be read) gives way to a card drawn over it. The picture is withdrawn when the attempt is over. A
post without a picture it can take cannot go: it fails with the reason. Links in a caption are not clickable:
the account's ``link_line`` stands where the template shows one.

| Instagram says                                                  | outcome                                      |
| --------------------------------------------------------------- | -------------------------------------------- |
| no connection; a 5xx, a transient error or no answer before     | Unavailable: nothing was posted; retried     |
| ``media_publish``                                               |                                              |
| a 5xx, a transient error or no answer to ``media_publish``, or  | MaybeSent (in doubt), unless the container   |
| a success without a post's id                                   | then says PUBLISHED: sent                    |
| the quota used up (``content_publishing_limit``; 9 / 2207042)   | RateLimited until the window has room        |
| 4, 17, 32, 613, 80001, 80002, a 429 (call rate limits:          | RateLimited for Meta's usage headers' time   |
| :data:`bot.platforms.meta.RATE_LIMIT_CODES`)                    | (24 h at most)                               |
| 9004 / 2207052, 2207003: the picture could not be fetched       | Unavailable (below)                          |
| 190 (token), 10 and 200–299 (permissions), 2207050 (account     | AuthFailed: the account is held              |
| restricted), 2207051 (publishing restricted as suspected spam)  |                                              |
| a container in ERROR or EXPIRED; other refusals                 | Rejected, with Instagram's own words         |
| a delete of a post not there (100, subcode 33)                  | Gone                                         |

A picture Instagram could not fetch is the bot's own, made again at each attempt: the trouble is the address
(``server.public_url`` not reachable from the internet, or slow), not the post, so it is retried, and the reason
is on the post. Instagram has no idempotency key: a send interrupted by a crash is in_doubt. An id Instagram
gives that is not one (digits) is never used: a container's is Unavailable, a post's is asked of the container
as a lost answer is. The database failing before the container (the picture's address) is Unavailable.

Not here: refreshing tokens (a Page's token through Facebook Login does not expire; a long-lived user token
lasts 60 days, and ``debug_token`` says when: alerts tell; Instagram Login's 60-day token needs
``token_expires``). Deleting is ``DELETE /{ig-media-id}`` through Facebook Login with ``instagram_manage_contents``
(since December 2025); Instagram Login has no delete: the post is deleted in the app. A caption cannot be
changed through the API: ``edit`` is Rejected without a request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from bot.clock import Clock, SystemClock
from bot.compose.length import instagram_rule
from bot.config import InstagramAccount
from bot.errors import AuthFailed, BotError, Gone, MaybeSent, PlatformError, RateLimited, Rejected, Unavailable
from bot.media import Image
from bot.netguard import content_session
from bot.pictures import Hosted, Pictures
from bot.platforms import meta
from bot.platforms.base import Post, Published
from bot.platforms.http import send
from bot.platforms.meta import ACCOUNT_CODES, GraphError, debug_token_end, graph_error, number, outcome

log = logging.getLogger("bot.platforms.instagram")

API_VERSION = "v26.0"
QUOTA_CODE, QUOTA_SUBCODE = 9, 2207042
NOT_FETCHED_CODE, NOT_FETCHED_SUBCODES = 9004, {2207052, 2207003}
ACCOUNT_SUBCODES = {2207050, 2207051}
UNKNOWN_CODES = {-2, -1}
#: The quota's window is searched to this precision (about a dozen questions for 24 h).
QUOTA_PRECISION = 60
#: The search for when the quota has room takes at most this many times the account's timeout in all.
QUOTA_SEARCH_TIMEOUTS = 2
#: How long a post waits when Instagram says the quota is used up but not what it is.
QUOTA_UNSAID_WAIT = timedelta(hours=1)
INSTAGRAM_LOGIN_HOST = "graph.instagram.com"
ALT_TEXT_MAX = 1000
#: The shapes Instagram takes for a photo: from 4:5 (portrait) to 1.91:1 (landscape).
MIN_RATIO, MAX_RATIO = 4 / 5, 1.91


class InstagramPublisher:
    """One Instagram professional account, posted to with its token through :func:`bot.platforms.http.send`."""

    resend_is_safe = False  # no idempotency key: an interrupted send is in doubt
    resend_window: timedelta | None = None
    can_edit = False  # a caption cannot be changed through the API

    def __init__(self, account: InstagramAccount, clock: Clock | None = None, user_agent: str = "wp-social-bot",
                 *, pictures: Pictures):
        self.account_id = account.id
        self.account = account
        self.rule = instagram_rule(account.max_hashtags)
        self.pictures = pictures
        self.clock = clock or SystemClock()
        self.user_agent = user_agent
        self.session = requests.Session()
        self.images = content_session()  # article images: URLs from content
        host = (account.base_url or "https://graph.facebook.com").rstrip("/")
        self.base = f"{host}/{API_VERSION}"
        self.instagram_login = urlsplit(host).hostname == INSTAGRAM_LOGIN_HOST
        self.user = account.user_id

    def publish(self, post: Post) -> Published:
        self._check_quota()
        image = self.picture(post)
        try:
            hosted = self.pictures.public(image, jpeg=True)
        except BotError as exc:
            raise Rejected(f"Instagram posts need a picture, and this one cannot be given to it: {exc}") from exc
        except Exception as exc:  # the database would not keep it: nothing was sent
            raise meta.store_trouble("put the post's picture at its public address", exc) from exc
        try:
            container = self._container(hosted.url, post)
            self._wait_until_ready(container)
            media_id = self._media_publish(container)
        finally:
            self._withdraw(hosted)
        if media_id is None:
            return Published(None, None, "Instagram published it (its container says so), but its answer with "
                                         "the post's id was lost")
        return Published(media_id, self._permalink(media_id))

    def check(self) -> str:
        user = self._call("GET", f"/{self.user}", params={"fields": "username"})
        return f"@{user.get('username')}"

    def delete(self, remote_id: str) -> None:
        if self.instagram_login:
            raise Rejected("the Instagram API with Instagram Login cannot delete posts: delete it in the Instagram "
                           "app")
        try:
            answer = self._call("DELETE", f"/{remote_id}")
        except Gone as exc:
            raise Gone(f"{exc.message}: deleted already, or the token cannot see it (if it is still on the profile, "
                       "delete it in the Instagram app)") from exc
        except (Rejected, AuthFailed) as exc:
            raise Rejected(f"{exc.message}; deleting through the API needs a Facebook Login token with "
                           "instagram_manage_contents, else delete it in the Instagram app") from exc
        if answer.get("success") is False:
            raise Rejected("Instagram did not delete the post (success: false); delete it in the Instagram app")

    def edit(self, remote_id: str, post: Post) -> None:
        raise Rejected("Instagram's API does not let posts be edited")

    def token_expiry(self) -> datetime | None:
        """When the token expires, as ``debug_token`` says (Facebook Login; the sooner of ``expires_at`` and
        ``data_access_expires_at``, 0: never). Instagram Login has no ``debug_token``: None (``token_expires``)."""
        if self.instagram_login:
            return None
        token = self.account.access_token.get_secret_value()
        return debug_token_end(self._call("GET", "/debug_token", params={"input_token": token}))

    def close(self) -> None:
        self.session.close()
        self.images.close()

    # The steps of a post.

    def _image(self, post: Post) -> Image | None:
        return self.pictures.for_account(post, self.account, session=self.images, user_agent=self.user_agent)

    def picture(self, post: Post) -> Image:
        """The post's picture, one Instagram takes (readable, from 4:5 to 1.91:1): with ``article_or_card``, an
        article's image it would refuse gives way to a card drawn over it. Rejected when there is none."""
        mode = self.account.image
        image = self._image(post)
        if image is None:
            raise Rejected("Instagram posts need a picture: " + (
                "the article has none that could be fetched (the log says why); image: article_or_card posts a "
                "headline card instead" if mode == "article" else "no headline card could be drawn (the log says "
                                                                   "why)"))
        size = _size(image.data)
        if size is not None and MIN_RATIO <= size[0] / size[1] <= MAX_RATIO:
            return image
        if mode == "article_or_card" and not image.card:
            card = self.pictures.card(post, self.account.card_size, image.data,
                                      context=f"account={self.account_id} delivery={post.delivery_id}")
            if card is not None:
                return card
        why = "cannot be read as an image" if size is None else \
            f"is {size[0]}×{size[1]}, and Instagram takes from 4:5 to 1.91:1"
        raise Rejected(f"Instagram cannot take this post's picture: it {why}"
                       + ("; image: article_or_card posts a headline card instead" if mode == "article" else ""))

    def _container(self, image_url: str, post: Post) -> str:
        data = {"image_url": image_url, "caption": post.text}
        if post.title:
            title = post.title
            data["alt_text"] = title if len(title) <= ALT_TEXT_MAX else title[:ALT_TEXT_MAX - 1] + "…"
        answer = self._call("POST", f"/{self.user}/media", data=data)
        container = meta.valid_id(answer.get("id"))
        if container is None:
            raise Unavailable(f"Instagram answered without a container's id ({str(answer.get('id'))[:40]!r}): "
                              "nothing was posted")
        return container

    def _status(self, container: str) -> tuple[str, str]:
        answer = self._call("GET", f"/{container}", params={"fields": "status_code,status"})
        return str(answer.get("status_code") or ""), str(answer.get("status") or "")

    def _wait_until_ready(self, container: str) -> None:
        """Until the container is FINISHED (Instagram has the picture), within the account's timeout."""
        wait = self.account.timeout.total_seconds()
        deadline, pause = time.monotonic() + wait, 0.2
        while True:
            status, detail = self._status(container)
            if status == "FINISHED":
                return
            if status in ("ERROR", "EXPIRED"):
                raise Rejected(f"Instagram could not make the post ({status}{': ' + detail if detail else ''})")
            if time.monotonic() + pause > deadline:
                raise Unavailable(f"Instagram's container was not ready within {wait:g}s (status "
                                  f"{status or 'unknown'}); it is tried again later")
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    def _media_publish(self, container: str) -> str | None:
        """The post's id; None when it was made but its id is not known: the answer was lost, or had no id
        (``{}``, not JSON, an id that is not one), and the container says PUBLISHED."""
        try:
            answer = self._call("POST", f"/{self.user}/media_publish", data={"creation_id": container},
                                publishing=True)
        except MaybeSent as exc:
            self._published_or_raise(container, exc)
            return None
        media_id = meta.valid_id(answer.get("id"))
        if media_id is None:  # a success that does not say which post: the container does
            self._published_or_raise(container, MaybeSent(
                f"Instagram answered media_publish without a post's id ({str(answer.get('id'))[:40]!r})"))
        return media_id

    def _published_or_raise(self, container: str, doubt: MaybeSent) -> None:
        """Nothing when the container says PUBLISHED; else ``doubt`` raised, with where to look."""
        try:
            published = self._status(container)[0] == "PUBLISHED"
        except PlatformError:
            published = False
        if not published:
            doubt.check = doubt.check or f"the Instagram account's profile (user id {self.user})"
            raise doubt

    def _permalink(self, media_id: str) -> str | None:
        try:
            link = self._call("GET", f"/{media_id}", params={"fields": "permalink"}).get("permalink")
        except PlatformError as exc:  # it is posted: only its address is not known
            log.warning("account=%s: the post %s went out, but its permalink is not known: %s", self.account_id,
                        media_id, exc.message)
            return None
        return str(link) if isinstance(link, str) and link.startswith("https://") else None

    def _withdraw(self, hosted: Hosted) -> None:
        if self.pictures.host is not None:
            self.pictures.host.drop(hosted)

    # The publishing limit.

    def _quota(self, since: int | None = None, timeout: float | None = None) -> tuple[int, int, int]:
        """(posts published in the window, or since ``since``; the quota; the window in seconds), 0 when unsaid."""
        params = {"fields": "quota_usage,config", **({"since": str(since)} if since is not None else {})}
        data = self._call("GET", f"/{self.user}/content_publishing_limit", params=params,
                          timeout=timeout).get("data")
        entry = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        config = entry.get("config")
        config = config if isinstance(config, dict) else {}
        return number(entry.get("quota_usage")), number(config.get("quota_total")), number(config.get("quota_duration"))

    def _check_quota(self) -> None:
        used, total, duration = self._quota()
        if total > 0 and used >= total:
            raise RateLimited(f"Instagram's publishing limit is used up ({used} of {total} posts in "
                              f"{duration / 3600:g} h)", self._room_at(total, duration))

    def _room_at(self, total: int, duration: int) -> datetime:
        """When the moving window has room again: the first moment after which fewer than ``total`` posts were
        published, found by asking ``content_publishing_limit`` with ``since`` (halving, to a minute), plus the
        window (at most :data:`~bot.platforms.meta.MAX_WAIT`, whatever Instagram says it is). The questions
        together take at most :data:`QUOTA_SEARCH_TIMEOUTS` times the account's timeout; if Instagram cannot be
        asked in that time: in window / quota (the pace at which a full window frees), at least 5 minutes."""
        now = self.clock.now()
        longest = int(meta.MAX_WAIT.total_seconds())
        duration = min(duration, longest) if duration > 0 else longest
        lo, hi = int(now.timestamp()) - duration + 1, int(now.timestamp())
        deadline = time.monotonic() + QUOTA_SEARCH_TIMEOUTS * self.account.timeout.total_seconds()
        try:
            while hi - lo > QUOTA_PRECISION:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Unavailable(f"its questions took more than {QUOTA_SEARCH_TIMEOUTS} × the timeout")
                mid = (lo + hi) // 2
                if self._quota(since=mid, timeout=min(left, self.account.timeout.total_seconds()))[0] < total:
                    hi = mid
                else:
                    lo = mid
        except PlatformError as exc:
            log.warning("account=%s: cannot learn when the publishing limit has room: %s", self.account_id,
                        exc.message)
            return now + max(timedelta(seconds=duration / max(total, 1)), timedelta(minutes=5))
        return datetime.fromtimestamp(hi + duration + 1, UTC)

    # The Graph API.

    def _call(self, method: str, path: str, *, publishing: bool = False, timeout: float | None = None,
              **kwargs: Any) -> dict[str, Any]:
        """One Graph API request (within ``timeout``, else the account's); ``publishing``: the request that may
        make the post (its lost answer is in doubt); any other cannot post, so a lost answer to it is only
        Unavailable."""
        token = {"access_token": self.account.access_token.get_secret_value()}
        if method in ("GET", "DELETE"):
            kwargs["params"] = {**kwargs.get("params", {}), **token}
        else:
            kwargs["data"] = {**kwargs.get("data", {}), **token}
        try:
            reply = send(self.session, method, self.base + path, platform="Instagram",
                         timeout=timeout or self.account.timeout.total_seconds(), user_agent=self.user_agent,
                         **kwargs)
        except MaybeSent as exc:
            if publishing:
                raise
            raise Unavailable(exc.message.replace(" (the request may have reached Instagram)", "")) from None
        error = graph_error(reply)
        if error is None:
            return reply.body if isinstance(reply.body, dict) else {}
        raise self._error(error, reply.headers, publishing, deleting=method == "DELETE")

    def _error(self, error: GraphError, headers: Mapping[str, str], publishing: bool,
               deleting: bool = False) -> PlatformError:
        """Instagram's own codes (its account refusals, its publishing limit, a picture it could not fetch),
        then what every Graph API says (:func:`bot.platforms.meta.outcome`)."""
        code, sub, said = error.code, error.subcode, error.said
        if code in ACCOUNT_CODES or sub in ACCOUNT_SUBCODES:
            return AuthFailed(f"Instagram refused this account or its token {said}")
        if code == QUOTA_CODE or sub == QUOTA_SUBCODE:
            _, total, duration = self._quota_or_none()
            return RateLimited(f"Instagram's publishing limit is used up {said}", self._room_at(total, duration)
                               if total > 0 else self.clock.now() + QUOTA_UNSAID_WAIT)
        if code == NOT_FETCHED_CODE or sub in NOT_FETCHED_SUBCODES:
            return Unavailable(f"Instagram could not fetch the picture from the bot's public address {said}: "
                               "server.public_url must be reachable from the internet")
        if code in UNKNOWN_CODES:  # Meta's "unknown error": as a temporary one
            error = replace(error, transient=True)
        return outcome(error, platform="Instagram", now=self.clock.now(), headers=headers,
                       may_have_posted=publishing, deleting=deleting)

    def _quota_or_none(self) -> tuple[int, int, int]:
        try:
            return self._quota()
        except PlatformError:
            return 0, 0, 0


def _size(data: bytes) -> tuple[int, int] | None:
    """An image's width and height, or None when Pillow cannot read it."""
    import io

    from PIL import Image as PILImage

    try:
        with PILImage.open(io.BytesIO(data)) as img:
            width, height = img.size
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None
    return (width, height) if width > 0 and height > 0 else None
