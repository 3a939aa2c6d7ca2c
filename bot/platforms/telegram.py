"""Telegram channels, through the Bot API (``POST {base}/bot<token>/<method>``).

A post with an image whose text fits a photo caption (1024) goes as ``sendPhoto``; otherwise as
``sendMessage`` with the article's link preview. With ``parse_mode: HTML`` the text is escaped first.

| Telegram says                                          | outcome                               |
| ------------------------------------------------------ | ------------------------------------- |
| no connection (refused, DNS, connect timeout)          | Unavailable: retried with backoff     |
| read timeout, broken answer, 5xx                       | MaybeSent: the delivery is in doubt   |
| 429 with ``retry_after``                               | RateLimited for that long             |
| 401 (bad token), 403 (not a member, kicked), chat not found | AuthFailed: the account is held  |
| other 400 ("message is too long", …)                   | Rejected, with Telegram's words       |
| "message to edit not found", "… to delete not found"   | Gone: the message is not there        |
| "message can't be edited", "… can't be deleted"        | Rejected, with Telegram's words       |

An edit is ``editMessageText`` (the text escaped and its link preview as publish gives them); a photo post,
whose text is a caption (Telegram: "there is no text in the message to edit"), is edited with
``editMessageCaption`` when the new text fits a caption (1024), else Rejected. The same text again is
harmless ("message is not modified" counts as done). A delete is ``deleteMessage``: Telegram lets a bot delete
a channel's message for 48 hours, later only with the right to delete messages.

Telegram has no idempotency key: a send interrupted by a crash, or whose answer never came, is marked
in_doubt, never resent blindly.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import requests

from bot.clock import Clock, SystemClock
from bot.compose.length import TELEGRAM_CAPTION, TELEGRAM_MESSAGE
from bot.config import TelegramAccount
from bot.errors import AuthFailed, Gone, MaybeSent, RateLimited, Rejected
from bot.media import Image
from bot.netguard import content_session
from bot.pictures import Pictures
from bot.platforms.base import Post, Published
from bot.platforms.http import send

#: Telegram's descriptions that mean the account (bot or chat), not the post, is the problem.
ACCOUNT_PROBLEMS = ("chat not found", "bot is not a member", "bot was kicked", "not enough rights",
                    "need administrator rights", "have no rights", "bot was blocked", "chat_write_forbidden")
#: Telegram's descriptions that mean the message asked for is not in the chat (any more).
NOT_THERE = ("message to edit not found", "message to delete not found", "message_id_invalid")
#: editMessageText on a photo post (its text is a caption); the same text again.
NO_TEXT, NOT_MODIFIED = "there is no text in the message to edit", "message is not modified"


class TelegramPublisher:
    """One Telegram channel (``chat_id``) posted to by one bot, through :func:`bot.platforms.http.send`."""

    rule = TELEGRAM_MESSAGE
    resend_is_safe = False  # no idempotency key: an interrupted send is in doubt
    resend_window: timedelta | None = None
    can_edit = True

    def __init__(self, account: TelegramAccount, clock: Clock | None = None, user_agent: str = "wp-social-bot",
                 *, pictures: Pictures):
        self.account_id = account.id
        self.account = account
        self.pictures = pictures
        self.clock = clock or SystemClock()
        self.user_agent = user_agent
        self.session = requests.Session()
        self.images = content_session()  # article images: URLs from content
        self.base = (account.base_url or "https://api.telegram.org").rstrip("/")

    def publish(self, post: Post) -> Published:
        try:
            return self._publish(post)
        except MaybeSent as exc:  # where a person can look whether it went out
            exc.check = exc.check or self._chat_link()
            raise

    def _chat_link(self) -> str:
        chat = str(self.account.chat_id)
        return f"https://t.me/{chat[1:]}" if chat.startswith("@") else f"the Telegram chat {chat}"

    def _publish(self, post: Post) -> Published:
        text = self._text(post)
        common = self._common()
        image = self._image(post) if self.picture_mode(post) != "none" else None
        if image is not None:
            result = self._call("sendPhoto", data={**common, "caption": text},
                                files={"photo": (image.url.rsplit("/", 1)[-1] or "image", image.data,
                                                 image.content_type)})
        else:
            result = self._call("sendMessage", json={**common, "text": text,
                                                     "link_preview_options": self._preview(post)})
        message_id = str(result["message_id"])
        return Published(message_id, self._url(result, message_id))

    def check(self) -> str:
        me = self._call("getMe", json={})
        chat = self._call("getChat", json={"chat_id": self.account.chat_id})
        return f"@{me.get('username')} in «{chat.get('title') or chat.get('username') or chat.get('id')}»"

    def delete(self, remote_id: str) -> None:
        try:
            self._call("deleteMessage", json={"chat_id": self.account.chat_id, "message_id": int(remote_id)},
                       what="delete")
        except Gone:
            raise
        except Rejected as exc:
            raise Rejected(f"{exc.message}; after 48 hours a bot deletes a channel's message only with the right "
                           "to delete messages: delete it in Telegram") from exc

    def edit(self, remote_id: str, post: Post) -> None:
        """The message's text (``editMessageText``), or its caption (``editMessageCaption``) where Telegram says
        it has no text: a photo post. The same text again is harmless."""
        text = self._text(post)
        message = {**self._common(), "message_id": int(remote_id)}
        try:
            self._edit("editMessageText", {**message, "text": text, "link_preview_options": self._preview(post)})
            return
        except Rejected as exc:
            if isinstance(exc, Gone) or NO_TEXT not in exc.message.lower():
                raise
        if not TELEGRAM_CAPTION.fits(text):
            raise Rejected(f"the corrected text is {TELEGRAM_CAPTION.count(text)} characters, longer than a "
                           f"photo's caption ({TELEGRAM_CAPTION.max_length}): this photo post cannot take it")
        self._edit("editMessageCaption", {**message, "caption": text})

    def _edit(self, method: str, params: dict[str, Any]) -> None:
        """One edit; Telegram's "message is not modified" (the text it has already) counts as done."""
        try:
            self._call(method, json=params, what="edit")
        except Rejected as exc:
            if isinstance(exc, Gone) or NOT_MODIFIED not in exc.message.lower():
                raise

    def close(self) -> None:
        self.session.close()
        self.images.close()

    def picture_mode(self, post: Post) -> str:
        """The picture this post carries: the account's ``image:``, where the text fits a photo's caption."""
        return self.account.image if TELEGRAM_CAPTION.fits(self._text(post)) else "none"

    def _text(self, post: Post) -> str:
        """The post's text as sent: escaped with ``parse_mode: HTML``."""
        return html.escape(post.text, quote=False) if self.account.parse_mode == "HTML" else post.text

    def _common(self) -> dict[str, Any]:
        """The parameters of every message the account sends or edits: its chat, and its parse mode."""
        return {"chat_id": self.account.chat_id, **({"parse_mode": "HTML"} if self.account.parse_mode == "HTML"
                                                    else {})}

    def _preview(self, post: Post) -> dict[str, Any]:
        """A text message's ``link_preview_options``: the article's, large, or none."""
        return {"url": post.link, "prefer_large_media": True} if self.account.link_preview and post.link \
            else {"is_disabled": True}

    def _image(self, post: Post) -> Image | None:
        return self.pictures.for_account(post, self.account, session=self.images, user_agent=self.user_agent)

    def _url(self, result: dict[str, Any], message_id: str) -> str | None:
        chat = result.get("chat") or {}
        username = chat.get("username") or (str(self.account.chat_id).lstrip("@")
                                            if str(self.account.chat_id).startswith("@") else None)
        if username:
            return f"https://t.me/{username}/{message_id}"
        chat_id = str(chat.get("id") or self.account.chat_id)
        return f"https://t.me/c/{chat_id[4:]}/{message_id}" if chat_id.startswith("-100") else None

    def _call(self, method: str, what: str = "post", **kwargs: Any) -> dict[str, Any]:
        token = self.account.bot_token.get_secret_value()
        reply = send(self.session, "POST", f"{self.base}/bot{token}/{method}", platform="Telegram",
                     timeout=self.account.timeout.total_seconds(), user_agent=self.user_agent, **kwargs)
        answer = reply.body
        if reply.status == 200 and answer.get("ok"):
            result: dict[str, Any] = answer.get("result") or {}
            return result
        code = int(answer.get("error_code") or reply.status)
        description = str(answer.get("description") or f"HTTP {reply.status}")
        if code == 429:
            wait = int((answer.get("parameters") or {}).get("retry_after") or 30)
            raise RateLimited(description, self.clock.now() + timedelta(seconds=wait))
        if code >= 500:
            raise MaybeSent(f"Telegram answered {code}: {description}")
        if code == 401:
            raise AuthFailed(f"Telegram refused the bot token ({code}: {description}): check bot_token")
        if "chat not found" in description.lower():
            raise AuthFailed(f"Telegram knows no chat {self.account.chat_id} ({code}: {description}): check chat_id")
        if code == 403 or any(p in description.lower() for p in ACCOUNT_PROBLEMS):
            raise AuthFailed(f"the bot may not post in {self.account.chat_id} ({code}: {description}): make it an "
                             "administrator of the channel")
        if any(p in description.lower() for p in NOT_THERE):
            raise Gone(f"Telegram says the message is not there ({code}: {description})")
        raise Rejected(f"Telegram refused the {what} ({code}: {description})")
