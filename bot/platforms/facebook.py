"""Facebook Pages, through the Graph API (v26.0).

A link post (``/{page-id}/feed`` with ``message`` and ``link``: Facebook draws the preview card from the
article page's Open Graph tags) or, with ``photo: true`` and an image, a photo post (``/{page-id}/photos``).

| Graph API error code                         | outcome                                    |
| -------------------------------------------- | ------------------------------------------ |
| no connection (refused, DNS, connect timeout) | Unavailable: retried with backoff         |
| 1, 2, ``is_transient``, 5xx, read timeout    | MaybeSent: the delivery is in doubt        |
| 4, 17, 32, 613, 80001, 80002, a 429          | RateLimited (for the time Facebook gives,  |
|                                              | 24 h at most)                              |
| 10, 200–299 (permissions), 190 (token), 368  | AuthFailed: the account is held            |
| 506 (duplicate post)                         | Duplicate: counted as posted               |
| 100 with subcode 33 ("Object with ID … does  | Gone: the post is not there (to an edit or |
| not exist")                                  | a delete)                                  |
| others                                       | Rejected, with Facebook's message          |

An edit is ``POST /{post-id}`` with the new ``message`` (Facebook answers ``{"success": true}``; the link, its
card and the photo stay); a delete is ``DELETE /{post-id}``.

A resend after a crash, or after an answer that never came, could post twice (Facebook's duplicate check is
not a guarantee): in_doubt.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests

from bot.clock import Clock, SystemClock
from bot.compose.length import FACEBOOK
from bot.config import FacebookAccount
from bot.errors import AuthFailed, Duplicate, Gone, MaybeSent, RateLimited, Rejected
from bot.media import Image
from bot.netguard import content_session
from bot.pictures import Pictures
from bot.platforms import meta
from bot.platforms.base import Post, Published
from bot.platforms.http import send

API_VERSION = "v26.0"
ACCOUNT_CODES = meta.ACCOUNT_CODES | {368}  # and a Page blocked from posting


class FacebookPublisher:
    """One Facebook Page posted to with its page token, through :func:`bot.platforms.http.send`."""

    rule = FACEBOOK
    resend_is_safe = False
    resend_window: timedelta | None = None
    can_edit = True

    def __init__(self, account: FacebookAccount, clock: Clock | None = None, user_agent: str = "wp-social-bot",
                 *, pictures: Pictures):
        self.account_id = account.id
        self.account = account
        self.pictures = pictures
        self.clock = clock or SystemClock()
        self.user_agent = user_agent
        self.session = requests.Session()
        self.images = content_session()  # article images: URLs from content
        self.base = f"{(account.base_url or 'https://graph.facebook.com').rstrip('/')}/{API_VERSION}"

    def publish(self, post: Post) -> Published:
        try:
            return self._publish(post)
        except MaybeSent as exc:  # where a person can look whether it went out
            exc.check = exc.check or f"https://www.facebook.com/{self.account.page_id}"
            raise

    def _publish(self, post: Post) -> Published:
        image = self._image(post) if self.account.image != "none" else None
        if image is not None:
            answer = self._call("POST", f"/{self.account.page_id}/photos", data={"message": post.text},
                                files={"source": (image.url.rsplit("/", 1)[-1] or "image", image.data,
                                                  image.content_type)})
            post_id = str(answer.get("post_id") or answer["id"])
        else:
            data = {"message": post.text, **({"link": post.link} if post.link else {})}
            answer = self._call("POST", f"/{self.account.page_id}/feed", data=data)
            post_id = str(answer["id"])
        page, _, story = post_id.partition("_")
        url = f"https://www.facebook.com/{page}/posts/{story}" if story else f"https://www.facebook.com/{post_id}"
        return Published(post_id, url)

    def check(self) -> str:
        page = self._call("GET", f"/{self.account.page_id}", params={"fields": "id,name"})
        return f"page «{page.get('name')}» ({page.get('id')})"

    def delete(self, remote_id: str) -> None:
        answer = self._call("DELETE", f"/{remote_id}", what="delete")
        if answer.get("success") is False:
            raise Rejected("Facebook did not delete the post (success: false)")

    def edit(self, remote_id: str, post: Post) -> None:
        answer = self._call("POST", f"/{remote_id}", data={"message": post.text}, what="edit")
        if answer.get("success") is False:
            raise Rejected("Facebook did not change the post (success: false)")

    def token_expiry(self) -> datetime | None:
        """When the Page token expires, as ``debug_token`` says (``expires_at`` 0: never). The token's access
        to the Page's data lapses too (``data_access_expires_at``): the sooner of the two counts."""
        token = self.account.page_token.get_secret_value()
        return meta.debug_token_end(self._call("GET", "/debug_token", params={"input_token": token}))

    def close(self) -> None:
        self.session.close()
        self.images.close()

    def _image(self, post: Post) -> Image | None:
        return self.pictures.for_account(post, self.account, session=self.images, user_agent=self.user_agent)

    def _call(self, method: str, path: str, what: str = "post", **kwargs: Any) -> dict[str, Any]:
        timeout = self.account.timeout.total_seconds()
        token = {"access_token": self.account.page_token.get_secret_value()}
        if method == "GET" or method == "DELETE":
            kwargs["params"] = {**kwargs.get("params", {}), **token}
        else:
            kwargs["data"] = {**kwargs.get("data", {}), **token}
        reply = send(self.session, method, self.base + path, platform="Facebook", timeout=timeout,
                     user_agent=self.user_agent, **kwargs)
        answer = reply.body
        if reply.status == 200 and not (isinstance(answer, dict) and "error" in answer):
            return answer if isinstance(answer, dict) else {}
        error = meta.graph_error(reply) or meta.GraphError(reply.status, 0, 0, f"HTTP {reply.status}", False)
        code = error.code
        said = f"({code}: {error.message})" if code else f"({error.message})"
        if meta.rate_limited(error):  # its codes, or a 429 that names none of the account's
            raise RateLimited(f"Facebook's rate limit {said}", self.clock.now() + meta.usage_wait(reply.headers))
        if code == 506:
            raise Duplicate(f"Facebook says it is a duplicate {said}")
        if code in ACCOUNT_CODES:
            raise AuthFailed(f"Facebook refused this page or token {said}")
        if code in (1, 2) or error.transient or reply.status >= 500:
            raise MaybeSent(f"Facebook answered {reply.status} {said}")
        if what in ("edit", "delete") and meta.not_there(error):  # the post named is not there
            raise Gone(f"Facebook says the post is not there {said}")
        raise Rejected(f"Facebook refused the {what} {said}")
