"""The console platform: prints each post as a readable block; can also append JSON lines to a file.

Used by the demo and for dry runs. It never fails, so a resend is harmless. With ``image:`` it shows the
picture the post would carry: the article's image's address, or the card's file (drawn into the card cache).

An edit prints ``── <account> · edited <id>`` and the new text (and, with ``output``, appends a JSON line with
``"edited": <id>``); a delete prints ``── <account> · deleted <id>``. Neither fails.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import timedelta
from typing import TextIO

from bot.compose.length import LengthRule, code_point_counter, rule_of
from bot.config import ConsoleAccount
from bot.media import Image
from bot.netguard import content_session
from bot.pictures import Pictures
from bot.platforms.base import Post, Published

RULE_WIDTH = 60


class ConsolePublisher:
    """Prints each post to a stream (stdout by default) and, with ``output``, appends it as a JSON line."""

    resend_is_safe = True
    resend_window: timedelta | None = None
    can_edit = True

    def __init__(self, account: ConsoleAccount, stream: TextIO | None = None,
                 pictures: Pictures | None = None) -> None:
        self.account_id = account.id
        self.account = account
        self.pictures = pictures
        self.rule = (rule_of(account.count_as) if account.count_as
                     else LengthRule(account.max_length, code_point_counter(account.url_length)))
        self.output = account.output
        self._stream = stream
        self._lock = threading.Lock()

    def publish(self, post: Post) -> Published:
        stream = self._stream or sys.stdout
        count = self.rule.count(post.text)
        limit = f"/{self.rule.max_length}" if self.rule.max_length else ""
        head = f"── {self.account_id} · post #{post.delivery_id} · {count}{limit} "
        picture = self._picture(post)
        shown = f"[{'card' if picture.card else 'image'}: {picture.shown}]\n" if picture else ""
        block = f"{head}{'─' * max(3, RULE_WIDTH - len(head))}\n{post.text}\n{shown}{'─' * RULE_WIDTH}\n"
        with self._lock:
            stream.write(block)
            stream.flush()
            if self.output:
                record = {"account": self.account_id, "delivery": post.delivery_id, "text": post.text,
                          "link": post.link, "title": post.title, "length": count,
                          **({"card" if picture.card else "image": picture.shown} if picture else {})}
                with open(self.output, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return Published(remote_id=f"console-{post.delivery_id}", url=None)

    def _picture(self, post: Post) -> Image | None:
        if self.account.image == "none" or self.pictures is None:
            return None
        with content_session() as session:
            return self.pictures.image(post, self.account.image, self.account.card_size, session=session,
                                       timeout=10.0, user_agent="wp-social-bot", account_id=self.account_id)

    def delete(self, remote_id: str) -> None:
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(f"── {self.account_id} · deleted {remote_id}\n")
            stream.flush()

    def edit(self, remote_id: str, post: Post) -> None:
        stream = self._stream or sys.stdout
        count = self.rule.count(post.text)
        limit = f"/{self.rule.max_length}" if self.rule.max_length else ""
        head = f"── {self.account_id} · edited {remote_id} · {count}{limit} "
        with self._lock:
            stream.write(f"{head}{'─' * max(3, RULE_WIDTH - len(head))}\n{post.text}\n{'─' * RULE_WIDTH}\n")
            stream.flush()
            if self.output:
                record = {"account": self.account_id, "edited": remote_id, "delivery": post.delivery_id,
                          "text": post.text, "link": post.link, "title": post.title, "length": count}
                with open(self.output, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")

    def check(self) -> str:
        return "prints to the console" + (f" and {self.output}" if self.output else "")

    def close(self) -> None:
        pass

