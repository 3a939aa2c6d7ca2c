"""A local Discord webhook API (../shared/CONTRACTS.md, Discord): execute (``POST …?wait=true``), get the
webhook, get, edit (``PATCH``) and delete a message (an unknown one: 404 Unknown Message, 10008); Discord's
limits (content 2000 code points, embed title 256, description 4096, 6000 across embeds), its errors
(``{code, message, errors}``), its rate limit headers and 429s, and mentions resolved as Discord does
(``allowed_mentions``)."""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from bot.clock import ManualClock

from .servers import Answer, FakeServer, Request

HOOK = re.compile(r"/api(?:/v\d+)?/webhooks/(\d+)/([^/]+)(?:/messages/(\d+))?/?")
EXECUTE_KEYS = {"content", "embeds", "allowed_mentions", "username", "avatar_url", "tts", "flags", "components",
                "thread_name", "applied_tags", "attachments", "poll"}
#: What an edit of a webhook's message takes (Discord's "Edit Webhook Message").
EDIT_KEYS = {"content", "embeds", "allowed_mentions", "components", "attachments", "flags", "poll"}
EMBED_KEYS = {"title", "type", "description", "url", "timestamp", "color", "footer", "image", "thumbnail",
              "video", "provider", "author", "fields"}


def _error(status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> Answer:
    payload: dict[str, Any] = {"message": message, "code": code}
    if errors:
        payload["errors"] = errors
    return Answer(status, payload)


def _too_long(field: str, limit: int) -> Answer:
    """Discord's answer to a field over its limit (the path is nested as Discord nests it)."""
    errors: dict[str, Any] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                           "message": f"Must be {limit} or fewer in length."}]}
    for part in reversed(field.split(".")):
        errors = {part: errors}
    return _error(400, 50035, "Invalid Form Body", errors)


class FakeDiscord(FakeServer):
    """One webhook of one channel. ``messages`` are what the channel shows; ``deleted`` makes the webhook gone
    (404 Unknown Webhook); ``remaining`` posts are left in the rate limit's bucket, which refills
    ``reset_after`` seconds (on ``clock``) after it was first drawn on. ``edits`` records each edit of a message
    (its id, its content and embeds before and after)."""

    methods = ("GET", "POST", "PUT", "PATCH", "DELETE")

    def __init__(self, clock: ManualClock | None = None, webhook_id: str = "1190000000000000001",
                 token: str = "Fk3-webhook_TOKEN-abcdefghijklmnopqrstuvwxyz0123456789",
                 channel_id: str = "1180000000000000002", guild_id: str = "1170000000000000003") -> None:
        super().__init__()
        self.clock = clock
        self.webhook_id, self.token = webhook_id, token
        self.channel_id, self.guild_id = channel_id, guild_id
        self.name = "أخبار قريش"
        self.deleted = False
        self.messages: list[dict[str, Any]] = []
        self.files: dict[str, list[bytes]] = {}  #: the files uploaded with each message, by its id
        self.edits: list[dict[str, Any]] = []
        self.limit, self.remaining, self.reset_after = 5, 5, 2.0
        self._refill_at: datetime | None = None
        self._ids = itertools.count(1200000000000000001)

    @property
    def webhook_url(self) -> str:
        """The webhook's URL as Discord shows it (the account's ``base_url`` sends it here)."""
        return f"https://discord.com/api/webhooks/{self.webhook_id}/{self.token}"

    def rate_limit_next(self, retry_after: float, is_global: bool = False) -> None:
        self.fail_next("/api/webhooks", Answer(
            429, {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global},
            {"Retry-After": str(int(retry_after) + 1), "X-RateLimit-Remaining": "0",
             "X-RateLimit-Reset-After": str(retry_after), "X-RateLimit-Scope": "global" if is_global else "user"}))

    def answer(self, request: Request) -> Answer:
        m = HOOK.fullmatch(request.path)
        if m is None:
            return _error(404, 0, "404: Not Found")
        if m[1] != self.webhook_id or self.deleted:
            return _error(404, 10015, "Unknown Webhook")
        if m[2] != self.token:
            return _error(401, 50027, "Invalid Webhook Token")
        if m[3] is not None:
            message = next((x for x in self.messages if x["id"] == m[3]), None)
            if request.method not in ("GET", "PATCH", "DELETE"):
                return _error(405, 0, "405: Method Not Allowed")
            if message is None:
                return _error(404, 10008, "Unknown Message")
            if request.method == "DELETE":
                self.messages.remove(message)
                return Answer(204, None)
            if request.method == "PATCH":
                return self._edit(message, request)
            return Answer(200, self._shown(message))
        if request.method == "GET":
            return Answer(200, {"type": 1, "id": self.webhook_id, "name": self.name, "avatar": None,
                                "channel_id": self.channel_id, "guild_id": self.guild_id,
                                "application_id": None, "token": self.token})
        if request.method != "POST":
            return _error(405, 0, "405: Method Not Allowed")
        return self._execute(request)

    def _execute(self, request: Request) -> Answer:
        files: list[dict[str, Any]] = []
        if request.headers.get("Content-Type", "").startswith("multipart/form-data"):  # files with payload_json
            form = request.form()
            try:
                body = json.loads(form.get("payload_json") or "")
            except ValueError:
                return _error(400, 50109, "The request body contains invalid JSON.")
            for name, part in form.items():
                if name.startswith("files[") and isinstance(part, EmailMessage):
                    files.append({"filename": part.get_filename(), "content_type": part.get_content_type(),
                                  "data": part.get_payload(decode=True)})
            for e in body.get("embeds") or [] if isinstance(body, dict) else []:
                ref = str((e.get("image") or {}).get("url") or "")
                if ref.startswith("attachment://") and ref.removeprefix("attachment://") not in \
                        {f["filename"] for f in files}:
                    self.problems.append(f"embed image {ref} names no attached file")
        else:
            body = request.json()
            if not isinstance(body, dict) or not request.headers.get("Content-Type", "").startswith(
                    "application/json"):
                return _error(400, 50109, "The request body contains invalid JSON.")
        if not isinstance(body, dict):
            return _error(400, 50109, "The request body contains invalid JSON.")
        unknown = set(body) - EXECUTE_KEYS
        if unknown:
            self.problems.append(f"execute webhook: unknown fields {sorted(unknown)}")
        problem = self._limits(body)
        if problem is not None:
            return problem
        headers = self._draw()
        if headers is None:
            return Answer(429, {"message": "You are being rate limited.", "retry_after": self.reset_after,
                                "global": False}, {"X-RateLimit-Remaining": "0",
                                                   "X-RateLimit-Reset-After": str(self.reset_after)})
        content = str(body.get("content") or "")
        parse = (body.get("allowed_mentions") or {"parse": ["everyone", "users", "roles"]}).get("parse", [])
        message = {"id": str(next(self._ids)), "type": 0, "content": content, "channel_id": self.channel_id,
                   "author": {"bot": True, "id": self.webhook_id, "username": body.get("username") or self.name,
                              "avatar": None},
                   "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
                   "mention_everyone": "everyone" in parse and ("@everyone" in content or "@here" in content),
                   "mentions": [], "mention_roles": [], "pinned": False, "tts": False,
                   "attachments": [{"id": str(next(self._ids)), "filename": f["filename"],
                                    "content_type": f["content_type"], "size": len(f["data"])} for f in files],
                   "timestamp": "2026-11-29T06:00:00.000000+00:00", "edited_timestamp": None, "flags": 0,
                   "webhook_id": self.webhook_id, "allowed_mentions": body.get("allowed_mentions"),
                   "avatar_url": body.get("avatar_url")}
        self.messages.append(message)
        self.files[message["id"]] = [f["data"] for f in files]
        if request.query.get("wait", "").lower() != "true":
            return Answer(204, None, headers)
        return Answer(200, self._shown(message), headers)

    @staticmethod
    def _shown(message: dict[str, Any]) -> dict[str, Any]:
        """The message as Discord answers it."""
        return {k: v for k, v in message.items() if k not in ("allowed_mentions", "avatar_url")}

    def _edit(self, message: dict[str, Any], request: Request) -> Answer:
        """Edit Webhook Message: what the body names changes, the rest stays; ``attachments`` (when given) are
        the files kept, and an embed's ``attachment://`` picture must name one of them."""
        body = request.json() if request.headers.get("Content-Type", "").startswith("application/json") else None
        if not isinstance(body, dict):
            return _error(400, 50109, "The request body contains invalid JSON.")
        unknown = set(body) - EDIT_KEYS
        if unknown:
            self.problems.append(f"edit webhook message: unknown fields {sorted(unknown)}")
        after = {"content": body.get("content", message["content"]), "embeds": body.get("embeds", message["embeds"])}
        problem = self._limits(after)
        if problem is not None:
            return problem
        kept = message["attachments"]
        if "attachments" in body:
            ids = {str(a.get("id")) for a in body["attachments"] if isinstance(a, dict)}
            kept = [a for a in message["attachments"] if a["id"] in ids]
        for e in after["embeds"]:
            ref = str((e.get("image") or {}).get("url") or "")
            if ref.startswith("attachment://") and ref.removeprefix("attachment://") not in {a["filename"]
                                                                                             for a in kept}:
                self.problems.append(f"edited embed image {ref} names no file the message keeps")
        self.edits.append({"id": message["id"], "before": {"content": message["content"], "embeds": message["embeds"]},
                           "after": after})
        parse = (body.get("allowed_mentions") or message.get("allowed_mentions")
                 or {"parse": ["everyone", "users", "roles"]}).get("parse", [])
        content = str(after["content"] or "")
        message.update(content=content, embeds=[{"type": "rich", **e} for e in after["embeds"]], attachments=kept,
                       edited_timestamp="2026-11-29T06:10:00.000000+00:00",
                       mention_everyone="everyone" in parse and ("@everyone" in content or "@here" in content))
        return Answer(200, self._shown(message))

    def _limits(self, body: dict[str, Any]) -> Answer | None:
        content = body.get("content")
        embeds = body.get("embeds") or []
        if not content and not embeds:
            return _error(400, 50006, "Cannot send an empty message")
        if content is not None and len(str(content)) > 2000:  # code points, as Discord's (Python) API counts
            return _too_long("content", 2000)
        if len(embeds) > 10:
            return _too_long("embeds", 10)
        total = 0
        for i, e in enumerate(embeds):
            unknown = set(e) - EMBED_KEYS
            if unknown:
                self.problems.append(f"embed: unknown fields {sorted(unknown)}")
            for key, limit in (("title", 256), ("description", 4096)):
                if len(str(e.get(key) or "")) > limit:
                    return _too_long(f"embeds.{i}.{key}", limit)
                total += len(str(e.get(key) or ""))
            for key in ("url",):
                if key in e and not str(e[key]).startswith(("http://", "https://")):
                    return _error(400, 50035, "Invalid Form Body", {"embeds": {str(i): {key: {"_errors": [
                        {"code": "URL_TYPE_INVALID_URL", "message": "Not a well formed URL."}]}}}})
        if total > 6000:
            return _error(400, 50035, "Invalid Form Body", {"embeds": {"_errors": [
                {"code": "MAX_EMBED_SIZE_EXCEEDED", "message": "Embed size exceeds maximum size of 6000"}]}})
        return None

    def _draw(self) -> dict[str, str] | None:
        """Take a post from the bucket: its headers, or None when it is empty (a 429). Without a clock there is
        no bucket (no time passes)."""
        if self.clock is None:
            return {}
        now = self.clock.now()
        if self._refill_at is not None and now >= self._refill_at:
            self.remaining, self._refill_at = self.limit, None
        if self.remaining <= 0:
            return None
        self.remaining -= 1
        if self._refill_at is None:
            self._refill_at = now + timedelta(seconds=self.reset_after)
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset-After": str(self.reset_after), "X-RateLimit-Bucket": "f00dcafe"}
