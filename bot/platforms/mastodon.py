"""Mastodon, through Mastodon.py with ``ratelimit_method="throw"`` (its default sleeps inside the call).

Each post carries an ``Idempotency-Key`` made from the delivery, so a resend after a crash returns the first
status instead of posting twice; the image is uploaded with the headline as its description.

| the instance says                     | outcome                                            |
| ------------------------------------- | -------------------------------------------------- |
| network error, 5xx                    | Unavailable: retried with backoff                  |
| 429 (X-RateLimit-Reset)               | RateLimited until the reset                        |
| 401, 403                              | AuthFailed: the account is held                    |
| 404 (``Record not found``)            | Gone: the status is not there (an edit, a delete)  |
| 422 and other refusals                | Rejected, with the instance's own message          |

An edit is ``PUT /api/v1/statuses/:id`` (Mastodon.py's ``status_update``) with the new ``status``. Mastodon drops
the media an edit does not name again, so the status is read first (``GET /api/v1/statuses/:id``) and its
``media_attachments`` go back as ``media_ids``. Mastodon.py's ``status_update`` (2.3) takes no ``language``:
the instance keeps the status's own when an edit names none. The same text again changes nothing (Mastodon adds no
version to the status's history). A delete is ``DELETE /api/v1/statuses/:id``.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

import requests

from bot.clock import Clock, SystemClock
from bot.compose.length import mastodon_rule
from bot.config import MastodonAccount
from bot.errors import AuthFailed, Gone, MediaError, RateLimited, Rejected, Unavailable
from bot.netguard import content_session
from bot.pictures import Pictures
from bot.platforms.base import Post, Published

log = logging.getLogger("bot.mastodon")

DEFAULT_RATE_WAIT = timedelta(minutes=5)
MEDIA_POLLS, MEDIA_POLL_SECONDS = 10, 0.5


class MastodonPublisher:
    """One Mastodon account on its instance, through Mastodon.py; text counted as Mastodon does, to ``max_length``."""

    resend_is_safe = True  # the Idempotency-Key makes a resend return the first status
    #: Instances keep an Idempotency-Key for about an hour: a resend later than this is in doubt.
    resend_window: timedelta | None = timedelta(minutes=50)
    can_edit = True

    def __init__(self, account: MastodonAccount, clock: Clock | None = None, user_agent: str = "wp-social-bot",
                 *, pictures: Pictures):
        from mastodon import Mastodon

        self.account_id = account.id
        self.account = account
        self.pictures = pictures
        self.rule = mastodon_rule(account.max_length)
        self.clock = clock or SystemClock()
        self.user_agent = user_agent
        self.images = content_session()
        self.api = Mastodon(
            access_token=account.access_token.get_secret_value(), api_base_url=account.instance,
            version_check_mode="none", ratelimit_method="throw",
            mastodon_version="4.0.0",  # known, so Mastodon.py never asks (and cannot loop asking) for it
            request_timeout=account.timeout.total_seconds(), user_agent=user_agent,
        )

    def publish(self, post: Post) -> Published:
        media_ids = []
        if self.account.image != "none":
            image = self.pictures.for_account(post, self.account, session=self.images, user_agent=self.user_agent)
            if image is not None:
                try:
                    media_ids.append(self._upload(image.data, image.content_type, image.url, post.title))
                except (Unavailable, Rejected, MediaError) as exc:
                    log.warning("account=%s delivery=%d posts without an image: %s", self.account_id,
                                post.delivery_id, exc)
        status = self._call(self.api.status_post, post.text, media_ids=media_ids or None,
                            visibility=self.account.visibility, language=self.account.language,
                            idempotency_key=post.key)
        return Published(str(status["id"]), status.get("url") or status.get("uri"))

    def _upload(self, data: bytes, content_type: str, url: str, description: str) -> str:
        """Upload an image to ``/api/v2/media`` (the headline as its description); wait briefly while the
        instance processes it. Done with a plain request: Mastodon.py's media_post probes the server's
        version first, and that probe can recurse without end when the instance does not answer it."""
        headers = {"Authorization": f"Bearer {self.account.access_token.get_secret_value()}",
                   "User-Agent": self.user_agent}
        timeout = self.account.timeout.total_seconds()
        try:
            resp = self.images.post(f"{self.account.instance}/api/v2/media", headers=headers, timeout=timeout,
                                    data={"description": description[:1500]},
                                    files={"file": (url.rsplit("/", 1)[-1] or "image", data, content_type)})
            for _ in range(MEDIA_POLLS):
                media = resp.json() if resp.status_code in (200, 202) else None
                if not isinstance(media, dict) or "id" not in media:
                    raise MediaError(f"the instance's media upload answered HTTP {resp.status_code}")
                if media.get("url"):
                    return str(media["id"])
                time.sleep(MEDIA_POLL_SECONDS)
                resp = self.images.get(f"{self.account.instance}/api/v1/media/{media['id']}", headers=headers,
                                       timeout=timeout)
        except (requests.RequestException, ValueError) as exc:
            raise MediaError(f"the image upload failed: {type(exc).__name__}") from exc
        raise MediaError("the instance was still processing the image")

    def check(self) -> str:
        me = self._call(self.api.account_verify_credentials)
        return f"@{me['acct']} on {self.account.instance}"

    def delete(self, remote_id: str) -> None:
        self._call(self.api.status_delete, remote_id, what="delete")

    def edit(self, remote_id: str, post: Post) -> None:
        status = self._call(self.api.status, remote_id, what="edit")
        media = [str(m["id"]) for m in status.get("media_attachments") or []]  # else the edit drops them
        self._call(self.api.status_update, remote_id, post.text, media_ids=media or None, what="edit")

    def close(self) -> None:
        self.images.close()
        self.api.session.close()

    def _call(self, fn: Any, *args: Any, what: str = "post", **kwargs: Any) -> Any:
        import mastodon

        try:
            return fn(*args, **kwargs)
        except mastodon.MastodonRatelimitError as exc:
            raise RateLimited(f"rate limited ({exc})", self._reset()) from exc
        except mastodon.MastodonUnauthorizedError as exc:
            raise AuthFailed(f"the instance refused the access token ({_message(exc)})") from exc
        except mastodon.MastodonNetworkError as exc:
            raise Unavailable(f"cannot reach {self.account.instance}: {type(exc).__name__}") from exc
        except mastodon.MastodonServerError as exc:
            raise Unavailable(f"the instance answered {_status(exc)}: {_message(exc)}") from exc
        except mastodon.MastodonAPIError as exc:
            if _status(exc) == 403:
                raise AuthFailed(f"the instance refused this account (403: {_message(exc)})") from exc
            if _status(exc) == 404 and what in ("edit", "delete"):  # the status named is not there
                raise Gone(f"the instance says the status is not there (404: {_message(exc)})") from exc
            raise Rejected(f"the instance refused the {what} ({_status(exc)}: {_message(exc)})") from exc

    def _reset(self) -> datetime:
        """When the instance takes requests again. Mastodon.py keeps the reset in the local clock's epoch
        (it corrects for the server's Date): what is left of it is added to our clock's now."""
        reset = getattr(self.api, "ratelimit_reset", None)
        try:
            left = float(reset) - time.time() if reset else 0.0
        except (TypeError, ValueError):
            left = 0.0
        return self.clock.now() + (timedelta(seconds=left) if left > 0 else DEFAULT_RATE_WAIT)


def _status(exc: Exception) -> int:
    args: tuple[Any, ...] = exc.args
    return int(args[1]) if len(args) > 1 and str(args[1]).isdigit() else 0


def _message(exc: Exception) -> str:
    args: tuple[Any, ...] = exc.args
    return str(args[3]) if len(args) > 3 and args[3] else str(exc)
