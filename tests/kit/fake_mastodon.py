"""A local Mastodon API: Bearer tokens, statuses counted as Mastodon counts them (grapheme clusters, each
URL with a scheme as 23, at most 500), Idempotency-Key honoured, v2 media with descriptions, 429 with
Mastodon's rate-limit headers."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs

import regex

from .servers import Answer, FakeServer, Request

URL = re.compile(r"https?://\S+")


def mastodon_length(text: str) -> int:
    return len(regex.findall(r"\X", URL.sub("x" * 23, text)))


def error(status: int, message: str, **headers: str) -> Answer:
    return Answer(status, {"error": message}, dict(headers))


class FakeMastodon(FakeServer):
    def __init__(self, token: str = "mastodon-token-abc", username: str = "qurays") -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.statuses: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, dict[str, Any]] = {}
        self.limit = 500
        self._ids = itertools.count(113000000000000001)

    def rate_limit_next(self, seconds: int) -> None:
        reset = (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.fail_next("/api/", error(429, "Too many requests", **{"X-RateLimit-Limit": "300",
                                                                   "X-RateLimit-Remaining": "0",
                                                                   "X-RateLimit-Reset": reset}))

    def answer(self, request: Request) -> Answer:
        if request.method == "GET" and request.path in ("/api/v1/instance", "/api/v2/instance"):  # public
            return Answer(200, {"uri": "qurays.social", "domain": "qurays.social", "title": "Qurays Social",
                                "version": "4.3.2", "api_versions": {"mastodon": 2}})
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return error(401, "The access token is invalid")
        path, method = request.path, request.method
        if method == "GET" and path == "/api/v1/accounts/verify_credentials":
            return Answer(200, self._account())
        if method == "POST" and path == "/api/v1/statuses":
            return self._post(request)
        if method == "POST" and path == "/api/v2/media":
            form = request.form()
            file = form.get("file")
            if not isinstance(file, EmailMessage):
                return error(422, "Validation failed: File can't be blank")
            media_id = str(next(self._ids))
            item = {"id": media_id, "type": "image", "url": f"{self.base}/media/{media_id}.jpg",
                    "preview_url": None, "remote_url": None, "description": form.get("description"),
                    "blurhash": None, "meta": {}, "data": file.get_payload(decode=True)}
            self.media[media_id] = item
            return Answer(200, {k: v for k, v in item.items() if k != "data"})
        if method == "GET" and path.startswith("/api/v1/media/"):
            item = self.media.get(path.rsplit("/", 1)[-1])
            if item is None:
                return error(404, "Record not found")
            return Answer(200, {k: v for k, v in item.items() if k != "data"})
        if method == "DELETE" and path.startswith("/api/v1/statuses/"):
            status_id = path.rsplit("/", 1)[-1]
            found = [s for s in self.statuses if s["id"] == status_id]
            self.statuses = [s for s in self.statuses if s["id"] != status_id]
            return Answer(200, found[0]) if found else error(404, "Record not found")
        return error(404, "Record not found")

    def _post(self, request: Request) -> Answer:
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotency:
            return Answer(200, self.idempotency[key])
        kind = request.headers.get("Content-Type", "")
        params = request.json() if kind.startswith("application/json") else \
            {k: (v if k.endswith("[]") else v[0]) for k, v in parse_qs(request.body.decode()).items()}
        text = str(params.get("status", ""))
        if not text.strip() and not (params.get("media_ids[]") or params.get("media_ids")):
            return error(422, "Validation failed: Text can't be blank")
        if mastodon_length(text) > self.limit:
            return error(422, f"Validation failed: Text character limit of {self.limit} exceeded")
        media_ids = params.get("media_ids[]") or params.get("media_ids") or []
        if any(m not in self.media for m in media_ids):
            return error(422, "Validation failed: media not found")
        language = params.get("language")
        if language is not None and not re.fullmatch(r"[a-z]{2,3}", str(language)):
            return error(422, "Validation failed: Language is not a valid ISO 639 code")
        status_id = str(next(self._ids))
        status = {
            "id": status_id, "created_at": "2026-11-29T06:00:00.000Z", "in_reply_to_id": None,
            "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "",
            "visibility": params.get("visibility", "public"), "language": language,
            "uri": f"{self.base}/users/{self.username}/statuses/{status_id}",
            "url": f"{self.base}/@{self.username}/{status_id}", "replies_count": 0, "reblogs_count": 0,
            "favourites_count": 0, "content": f"<p>{text}</p>", "text": text, "reblog": None,
            "account": self._account(), "media_attachments": [
                {k: v for k, v in self.media[m].items() if k != "data"} for m in media_ids],
            "mentions": [], "tags": [], "emojis": [], "card": None, "poll": None,
        }
        self.statuses.append(status)
        if key:
            self.idempotency[key] = status
        return Answer(200, status)

    def _account(self) -> dict[str, Any]:
        return {"id": "109000000000000001", "username": self.username, "acct": self.username,
                "display_name": "قريش", "created_at": "2023-01-01T00:00:00.000Z", "url": f"{self.base}/@qurays"}
