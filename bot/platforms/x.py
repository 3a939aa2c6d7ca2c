"""X (Twitter): posts through API v2 with tweepy's Client, images through API v2 media upload.

Every request of an account goes to its ``base_url`` (default X's own API): a transport adapter mounted on
the client's session rewrites X's hosts after the OAuth 1.0a signature is made, so the signature still
names X's canonical URL, and gives every request a timeout (tweepy sets none). tweepy never waits on a
rate limit here; X's answers map onto the shared outcome kinds:

| X says                                      | outcome                                                 |
| ------------------------------------------- | ------------------------------------------------------- |
| network error, timeout, 5xx                 | Unavailable: retried with backoff                        |
| 429 (+ x-rate-limit-reset, 24-hour resets)  | RateLimited until the reset: no request before it        |
| 401; 403 about the app's permissions; 402   | AuthFailed: the account is held, the operator told once  |
| 402 CreditsDepleted, 403 SpendCapReached     | AuthFailed, in words: add credits / raise the limit      |
| 403 "duplicate content"                     | Duplicate: counted as posted                              |
| other 400 / 403 / 404                       | Rejected, with X's own message                            |
| a delete of a post not there (404, a        | Gone: nothing left to delete                              |
| ``resource-not-found`` problem, ``deleted: false``) |                                                   |

Sending the same delivery twice is safe: X rejects the second as duplicate content. X's API v2 has no edit
(no ``PUT`` or ``PATCH`` on ``/2/tweets/{id}``): ``edit`` is Rejected without a request. A delete is
``DELETE /2/tweets/{id}``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from bot.clock import Clock, SystemClock
from bot.compose.length import X
from bot.config import XAccount
from bot.errors import AuthFailed, Duplicate, Gone, MediaError, RateLimited, Rejected, Unavailable
from bot.netguard import content_session
from bot.pictures import Pictures
from bot.platforms.base import Post, Published
from bot.platforms.http import unreachable

log = logging.getLogger("bot.x")

CANONICAL_HOSTS = ("api.twitter.com", "api.x.com", "upload.twitter.com")
MEDIA_UPLOAD = "https://api.x.com/2/media/upload"
#: The ``type`` of X's problem for a resource that does not exist.
NOT_FOUND_PROBLEM = "/2/problems/resource-not-found"
#: When X answers 429 without saying until when.
DEFAULT_RATE_WAIT = timedelta(minutes=15)


class _BaseURLAdapter(HTTPAdapter):
    """Sends requests for X's hosts to ``base_url`` (after signing), each with a timeout."""

    def __init__(self, base_url: str | None, timeout: float) -> None:
        super().__init__(max_retries=0)
        self.base = urlsplit(base_url) if base_url else None
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.base is not None and request.url:
            parts = urlsplit(request.url)
            if parts.hostname in CANONICAL_HOSTS:
                request.url = urlunsplit((self.base.scheme, self.base.netloc,
                                          self.base.path.rstrip("/") + parts.path, parts.query, ""))
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (min(10.0, self.timeout), self.timeout)
        return super().send(request, **kwargs)


class XPublisher:
    """One X account (OAuth 1.0a user context), through tweepy's v2 Client sent to the account's ``base_url``."""

    rule = X
    resend_is_safe = True  # X refuses the same text twice: a resend after a crash cannot double-post
    resend_window: timedelta | None = None
    can_edit = False  # API v2 has no edit

    def __init__(self, account: XAccount, clock: Clock | None = None, user_agent: str = "wp-social-bot",
                 *, pictures: Pictures) -> None:
        import tweepy

        self.account_id = account.id
        self.account = account
        self.pictures = pictures
        self.clock = clock or SystemClock()
        self.user_agent = user_agent
        c = account.credentials
        self.client = tweepy.Client(
            consumer_key=c.consumer_key.get_secret_value(), consumer_secret=c.consumer_secret.get_secret_value(),
            access_token=c.access_token.get_secret_value(),
            access_token_secret=c.access_token_secret.get_secret_value(), wait_on_rate_limit=False,
        )
        adapter = _BaseURLAdapter(account.base_url, account.timeout.total_seconds())
        for host in CANONICAL_HOSTS:
            self.client.session.mount(f"https://{host}/", adapter)
        self.images = content_session()  # article images come from the site, not from X

    # The interface.

    def publish(self, post: Post) -> Published:
        media_ids = self._media(post) if self.account.image != "none" else []
        try:
            response = self.client.create_tweet(text=post.text, media_ids=media_ids or None, user_auth=True)
        except Exception as exc:
            raise self._outcome(exc) from exc
        tweet_id = str(response.data["id"])
        return Published(tweet_id, f"https://x.com/i/web/status/{tweet_id}",
                         note=f"with image {media_ids[0]}" if media_ids else None)

    def check(self) -> str:
        """Who this account is on X (``@handle``); raises the outcome kinds on failure."""
        try:
            me = self.client.get_me(user_auth=True)
        except Exception as exc:
            raise self._outcome(exc) from exc
        return f"@{me.data.username}"

    def delete(self, remote_id: str) -> None:
        import tweepy

        try:
            response = self.client.delete_tweet(remote_id, user_auth=True)
        except tweepy.NotFound as exc:
            raise Gone(f"X says post {remote_id} is not there (404: {_said(exc)})") from exc
        except Exception as exc:
            raise self._outcome(exc) from exc
        missing = [e for e in response.errors or [] if isinstance(e, dict)
                   and str(e.get("type", "")).endswith(NOT_FOUND_PROBLEM)]
        if missing:
            raise Gone(f"X says post {remote_id} is not there ({missing[0].get('detail') or missing[0]})")
        deleted = response.data.get("deleted") if isinstance(response.data, dict) else None
        if deleted is False:  # nothing was deleted, and X refuses with an error when it will not delete
            raise Gone(f"X deleted nothing (deleted: false): post {remote_id} is not there")
        if deleted is not True:
            said = "; ".join(str(e.get("detail") or e) for e in response.errors or [] if isinstance(e, dict))
            raise Rejected(f"X did not say it deleted post {remote_id} ({said or 'no data in its answer'})")

    def edit(self, remote_id: str, post: Post) -> None:
        raise Rejected("X's API does not let posts be edited")

    def close(self) -> None:
        self.client.session.close()
        self.images.close()

    # Images.

    def _media(self, post: Post) -> list[str]:
        """The uploaded image's media id, or [] with the reason logged: a post never waits on its image."""
        image = self.pictures.for_account(post, self.account, session=self.images, user_agent=self.user_agent)
        if image is None:
            return []
        try:
            return [self._upload(image.data, image.content_type, image.url)]
        except MediaError as exc:
            log.warning("account=%s delivery=%d posts without an image: %s", self.account_id, post.delivery_id, exc)
            return []

    def _upload(self, data: bytes, content_type: str, url: str) -> str:
        from tweepy import OAuth1UserHandler

        c = self.account.credentials
        auth = OAuth1UserHandler(c.consumer_key.get_secret_value(), c.consumer_secret.get_secret_value(),
                                 c.access_token.get_secret_value(), c.access_token_secret.get_secret_value())
        name = urlsplit(url).path.rsplit("/", 1)[-1] or "image"
        try:
            resp = self.client.session.post(
                MEDIA_UPLOAD, auth=auth.apply_auth(), data={"media_category": "tweet_image"},
                files={"media": (name, data, content_type)}, headers={"User-Agent": self.user_agent})
        except requests.RequestException as exc:
            raise MediaError(f"the upload to X failed: {type(exc).__name__}") from exc
        try:
            media_id = resp.json()["data"]["id"]
        except (ValueError, KeyError, TypeError):
            raise MediaError(f"X's media upload answered HTTP {resp.status_code}: {resp.text[:200]}") from None
        if resp.status_code not in (200, 201) or not str(media_id).isdigit():
            raise MediaError(f"X's media upload answered HTTP {resp.status_code}")
        return str(media_id)

    # Errors.

    def _outcome(self, exc: Exception) -> Exception:
        import tweepy

        if isinstance(exc, requests.RequestException):
            url = getattr(getattr(exc, "request", None), "url", None) or self.account.base_url or "https://api.x.com"
            return Unavailable(f"cannot reach X: {unreachable(exc, url)}")
        if not isinstance(exc, tweepy.HTTPException):
            return exc
        status = exc.response.status_code
        message = _said(exc)
        if isinstance(exc, tweepy.TooManyRequests):
            return RateLimited(message, self._reset(exc.response))
        if isinstance(exc, tweepy.TwitterServerError):
            return Unavailable(f"X answered {status}: {message}")
        if isinstance(exc, tweepy.Unauthorized):
            return AuthFailed(f"X refused the credentials (401: {message}); check the account's four keys")
        money = self._money(exc.response)
        if money is not None:
            return money
        if status == 402:
            return AuthFailed(f"X wants a paid API plan for this (402: {message})")
        if isinstance(exc, tweepy.Forbidden):
            lowered = message.lower()
            if "duplicate" in lowered:
                return Duplicate(message)
            if any(w in lowered for w in ("permission", "suspended", "not permitted to perform", "client-not-enrolled",
                                          "oauth1-permissions")):
                return AuthFailed(f"X refused this account (403: {message})")
            return Rejected(f"X refused the post (403: {message})")
        if 400 <= status < 500:
            return Rejected(f"X refused the post ({status}: {message})")
        return Unavailable(f"X answered {status}: {message}")

    def _money(self, response: requests.Response) -> AuthFailed | None:
        """X refusing for money (pay-per-use): the prepaid credits are used up (402 ``CreditsDepleted``), or the
        spending limit set in the Developer Console is reached (403 ``SpendCapReached``, with its
        ``reset_date``). The account is held: a retry cannot succeed until a person acts."""
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        title, kind = str(body.get("title", "")), str(body.get("type", ""))
        if title == "CreditsDepleted" or kind.endswith("/problems/credits"):
            return AuthFailed(f"X refused for money: the account's prepaid credits are used up "
                              f"({response.status_code} CreditsDepleted). Add credits in X's Developer Console "
                              f"(console.x.com), then run bot release {self.account_id}")
        if title == "SpendCapReached" or kind.endswith("/problems/spend-cap"):
            reset = body.get("reset_date")
            until = f" until {reset}" if isinstance(reset, str) and reset else ""
            return AuthFailed(f"X refused for money: the spending limit set in X's Developer Console is "
                              f"reached{until} ({response.status_code} SpendCapReached). Raise it there (or wait for "
                              f"its reset), then run bot release {self.account_id}")
        return None

    def _reset(self, response: requests.Response) -> datetime:
        """When X will take requests again: the latest reset among the limits that are used up."""
        h = response.headers
        resets = []
        for prefix in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour"):
            reset, remaining = h.get(f"{prefix}-reset"), h.get(f"{prefix}-remaining")
            if reset and reset.isdigit() and (remaining is None or remaining == "0"):
                resets.append(datetime.fromtimestamp(int(reset), UTC))
        return max(resets) if resets else self.clock.now() + DEFAULT_RATE_WAIT


def _said(exc: Any) -> str:
    """X's own words in a tweepy error (its ``api_messages``), else its status and reason."""
    return "; ".join(str(m) for m in exc.api_messages) or f"{exc.response.status_code} {exc.response.reason}"
