"""A local Mastodon API: Bearer tokens, statuses counted as Mastodon counts them (grapheme clusters, each
URL with a scheme as 23, at most 500), Idempotency-Key honoured, v2 media with descriptions, 429 with
Mastodon's rate-limit headers.

Edits as Mastodon makes them (``PUT /api/v1/statuses/:id``, read back with ``GET /api/v1/statuses/:id`` and
``…/history``): the media an edit does not name again are dropped from the status, a language it does not name
is kept, an edit that changes nothing adds no version; a changed status gets ``edited_at`` and its versions
(the original first) in ``history``. An unknown status is 404 ``{"error": "Record not found"}``."""

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
        #: each edited status's versions, the original first, as ``GET /api/v1/statuses/:id/history`` gives them
        self.history: dict[str, list[dict[str, Any]]] = {}
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
        if path.startswith("/api/v1/statuses/") and method in ("GET", "PUT"):
            status_id, _, rest = path.removeprefix("/api/v1/statuses/").partition("/")
            found = next((s for s in self.statuses if s["id"] == status_id), None)
            if found is None or rest not in ("", "history") or (rest and method == "PUT"):
                return error(404, "Record not found")
            if rest == "history":
                return Answer(200, self.history.get(status_id) or [self._version(found, found["created_at"])])
            return Answer(200, found) if method == "GET" else self._edit(found, self._params(request))
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
        params = self._params(request)
        refused = self._invalid(params)
        if refused is not None:
            return refused
        text = str(params.get("status", ""))
        media_ids = params.get("media_ids[]") or params.get("media_ids") or []
        language = params.get("language")
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
            "mentions": [], "tags": [], "emojis": [], "card": None, "poll": None, "edited_at": None,
        }
        self.statuses.append(status)
        if key:
            self.idempotency[key] = status
        return Answer(200, status)

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        kind = request.headers.get("Content-Type", "")
        return request.json() if kind.startswith("application/json") else \
            {k: (v if k.endswith("[]") else v[0]) for k, v in parse_qs(request.body.decode()).items()}

    def _invalid(self, params: dict[str, Any]) -> Answer | None:
        """Mastodon's 422 for a status it will not take (a new one or an edit), or None."""
        text = str(params.get("status", ""))
        media_ids = params.get("media_ids[]") or params.get("media_ids") or []
        if not text.strip() and not media_ids:
            return error(422, "Validation failed: Text can't be blank")
        if mastodon_length(text) > self.limit:
            return error(422, f"Validation failed: Text character limit of {self.limit} exceeded")
        if any(m not in self.media for m in media_ids):
            return error(422, "Validation failed: media not found")
        language = params.get("language")
        if language is not None and not re.fullmatch(r"[a-z]{2,3}", str(language)):
            return error(422, "Validation failed: Language is not a valid ISO 639 code")
        return None

    def _edit(self, status: dict[str, Any], params: dict[str, Any]) -> Answer:
        """An edit as Mastodon's UpdateStatusService makes it: the media it names (none: the status has none
        after it), the language it names (none: the status's own), a new version only when something changed."""
        refused = self._invalid(params)
        if refused is not None:
            return refused
        text = str(params.get("status", ""))
        media = [{k: v for k, v in self.media[m].items() if k != "data"}
                 for m in params.get("media_ids[]") or params.get("media_ids") or []]
        language = params.get("language") or status["language"]
        if (text, [m["id"] for m in media], language) == (
                status["text"], [m["id"] for m in status["media_attachments"]], status["language"]):
            return Answer(200, status)  # nothing changed: no new version
        versions = self.history.setdefault(status["id"], [self._version(status, status["created_at"])])
        edited_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        status.update({"text": text, "content": f"<p>{text}</p>", "media_attachments": media, "language": language,
                       "edited_at": edited_at})
        versions.append(self._version(status, edited_at))
        return Answer(200, status)

    def _version(self, status: dict[str, Any], at: str) -> dict[str, Any]:
        """One of a status's versions (a StatusEdit)."""
        return {"content": status["content"], "spoiler_text": status["spoiler_text"],
                "sensitive": status["sensitive"], "created_at": at, "account": self._account(),
                "media_attachments": list(status["media_attachments"]), "emojis": []}

    def _account(self) -> dict[str, Any]:
        return {"id": "109000000000000001", "username": self.username, "acct": self.username,
                "display_name": "قريش", "created_at": "2023-01-01T00:00:00.000Z", "url": f"{self.base}/@qurays"}
