"""A local Instagram Graph API (v26.0, content publishing) for one professional account, as Meta documents it
(../shared/CONTRACTS.md, Instagram): the token checked on every call; ``POST /{ig-user-id}/media`` fetches
``image_url`` over HTTP as Meta's crawler does (a JPEG only; an unreachable address, a 404 or another kind is
refused with 9004 / 2207052; a shape outside 4:5 to 1.91:1 with 36003 / 2207009) and refuses a caption over
2,200 characters or 30 hashtags; a container is IN_PROGRESS, then FINISHED; ``media_publish`` publishes a
container once and enforces the publishing limit (``quota_total`` posts per moving ``quota_duration``), which
``content_publishing_limit`` reports (``since`` too); permalinks, ``DELETE``, ``debug_token``. Everything it
received is recorded; ``failing`` answers every request with one answer (5xx mode), ``lose_publish_answers``
posts and then answers 500 (an answer lost), ``after_publishing`` posts and then gives its answers.

Also ``MediaSide``: the bot's own HTTP side (``bot.web``), serving ``/media/…`` from a store, for tests that
run the bot in this process (``bot run`` serves it itself)."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from bot.clock import Clock

from .runs import free_port
from .servers import Answer, FakeServer, Request

#: A hashtag as Instagram's app links it (reported): ``#`` then letters, digits or ``_``, with a letter.
HASHTAG = re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")
MEDIA_PARAMS = {"image_url", "caption", "alt_text", "access_token", "location_id", "user_tags", "product_tags",
                "collaborators", "is_carousel_item", "media_type"}
NOT_FETCHED = "Only photo or video can be accepted as media type."
QUOTA_CODE, QUOTA_SUBCODE = 9, 2207042


def graph_error(status: int, code: int, message: str, subcode: int | None = None, **extra: Any) -> Answer:
    """An error as the Graph API gives it: ``{"error": {message, type, code, error_subcode, fbtrace_id}}``."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC123xYz"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return Answer(status, {"error": {**error, **extra}})


def not_fetched(url: str) -> Answer:
    return graph_error(400, 9004, NOT_FETCHED, 2207052, is_transient=False,
                       error_user_title="Media download has failed",
                       error_user_msg=f"The media could not be fetched from this uri: {url}")


class FakeInstagram(FakeServer):
    """One Instagram professional account. ``posts`` are what its profile shows (id, caption, the picture's
    bytes and size, permalink, when); ``containers`` by id; ``fetched`` what the crawler got ((url, status,
    content type)); ``received`` every call's parameters (without the token)."""

    def __init__(self, clock: Clock | None = None, user_id: str = "17841400000000001",
                 token: str = "IGQfakeAccessToken-qurays", username: str = "qurays_news") -> None:
        super().__init__()
        self.clock = clock
        self.user_id, self.token, self.username = user_id, token, username
        self.posts: list[dict[str, Any]] = []
        self.containers: dict[str, dict[str, Any]] = {}
        self.fetched: list[tuple[str, int, str]] = []
        self.received: list[tuple[str, str, dict[str, Any]]] = []
        self.quota_total, self.quota_duration = 100, 86_400
        self.in_progress_polls = 1  #: how many status checks say IN_PROGRESS before FINISHED
        self.container_status: str | None = None  #: a status every container ends in instead (ERROR, EXPIRED)
        self.failing: Answer | None = None
        self.lose_publish_answers = 0
        self.after_publishing: list[Answer] = []  #: answers given (in turn) after a post is made, in place of its id
        self.permalink_base = "https://www.instagram.com/p/"
        self.expires_at = 0  #: what debug_token says (0: never)
        self._ids = itertools.count(17900000000000001)

    def now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    def published_since(self, since: datetime) -> int:
        return sum(1 for p in self.posts if p["at"] >= since)

    def answer(self, request: Request) -> Answer:
        if self.failing is not None:
            return self.failing
        if not request.path.startswith("/v26.0/"):
            return graph_error(400, 2500, "Unknown path components")
        params = request.form() if request.method == "POST" else dict(request.query)
        if params.pop("access_token", None) != self.token:
            return graph_error(400, 190, "Error validating access token: Session has expired.", 463)
        path = request.path.removeprefix("/v26.0").strip("/")
        with self._lock:
            self.received.append((request.method, path, params))
        user = self.user_id
        if request.method == "GET" and path == user:
            return Answer(200, {"id": user, "username": self.username})
        if request.method == "GET" and path == "debug_token":
            return Answer(200, {"data": {"app_id": "1234567890", "type": "USER", "is_valid": True,
                                         "expires_at": self.expires_at, "data_access_expires_at": 0,
                                         "scopes": ["instagram_basic", "instagram_content_publish"]}})
        if request.method == "GET" and path == f"{user}/content_publishing_limit":
            return self._limit(params)
        if request.method == "POST" and path == f"{user}/media":
            return self._create(params)
        if request.method == "POST" and path == f"{user}/media_publish":
            return self._publish(str(params.get("creation_id", "")))
        if request.method == "GET" and path in self.containers:
            return self._status(path)
        post = next((p for p in self.posts if p["id"] == path), None)
        if request.method == "GET" and post is not None:
            return Answer(200, {"id": post["id"], "permalink": post["permalink"]})
        if request.method == "DELETE" and post is not None:
            self.posts.remove(post)
            return Answer(200, {"success": True})
        if request.method == "DELETE":
            return graph_error(400, 100, f"Unsupported delete request. Object with ID '{path}' does not exist, "
                               "cannot be loaded due to missing permissions, or does not support this operation", 33)
        return graph_error(400, 100, f"Unsupported {request.method.lower()} request.")

    def _limit(self, params: dict[str, Any]) -> Answer:
        now = self.now()
        window = timedelta(seconds=self.quota_duration)
        since = now - window
        if params.get("since"):
            since = datetime.fromtimestamp(int(params["since"]), UTC)
            if since < now - window:
                return graph_error(400, 100, "(#100) The since parameter must be a unix timestamp no older than "
                                   "24 hours")
        entry: dict[str, Any] = {"quota_usage": self.published_since(since)}
        if "config" in str(params.get("fields", "")):
            entry["config"] = {"quota_total": self.quota_total, "quota_duration": self.quota_duration}
        return Answer(200, {"data": [entry]})

    def _create(self, params: dict[str, Any]) -> Answer:
        unknown = set(params) - MEDIA_PARAMS
        if unknown:
            self.problems.append(f"POST /media with parameters Instagram does not take: {sorted(unknown)}")
        caption = str(params.get("caption", ""))
        if len(caption) > 2200:
            return graph_error(400, 100, "The caption is too long: at most 2200 characters", 2207010)
        if len(HASHTAG.findall(caption)) > 30:
            return graph_error(400, 100, "The caption has too many hashtags: at most 30", 2207010)
        url = str(params.get("image_url", ""))
        try:
            got = requests.get(url, timeout=5)
        except requests.RequestException:
            self.fetched.append((url, 0, ""))
            return not_fetched(url)
        kind = got.headers.get("Content-Type", "")
        self.fetched.append((url, got.status_code, kind))
        if got.status_code != 200 or kind.split(";")[0].strip() != "image/jpeg" or not got.content.startswith(
                b"\xff\xd8\xff"):
            return not_fetched(url)
        from PIL import Image

        try:
            with Image.open(io.BytesIO(got.content)) as img:
                size, kind = img.size, img.format
        except OSError:
            return not_fetched(url)
        if kind != "JPEG":
            return not_fetched(url)
        if not 4 / 5 <= size[0] / size[1] <= 1.91:
            return graph_error(400, 36003, "The aspect ratio is not supported.", 2207009,
                               error_user_msg="The submitted image with aspect ratio "
                                              f"('{size[0]}/{size[1]}') cannot be published. Please submit an image "
                                              "with a valid aspect ratio.")
        container = str(next(self._ids))
        self.containers[container] = {"id": container, "caption": caption, "image": got.content, "size": size,
                                      "alt_text": params.get("alt_text"), "checks": 0, "status": "IN_PROGRESS"}
        return Answer(200, {"id": container})

    def _status(self, container: str) -> Answer:
        c = self.containers[container]
        if c["status"] == "IN_PROGRESS":
            c["checks"] += 1
            if c["checks"] > self.in_progress_polls:
                c["status"] = self.container_status or "FINISHED"
        detail = {"ERROR": "Error: Media upload has failed with error code 2207001",
                  "EXPIRED": "Expired: the container was not published within 24 hours"}.get(c["status"], "")
        return Answer(200, {"id": container, "status_code": c["status"], **({"status": detail} if detail else {})})

    def _publish(self, creation_id: str) -> Answer:
        c = self.containers.get(creation_id)
        if c is None:
            return graph_error(400, 24, f"The media with {creation_id} cannot be found", 2207006)
        if c["status"] != "FINISHED":
            return graph_error(400, 9007, "Media ID is not available", 2207027,
                               error_user_msg="The media is not ready for publishing, please wait for a moment")
        now = self.now()
        if self.published_since(now - timedelta(seconds=self.quota_duration)) >= self.quota_total:
            return graph_error(400, QUOTA_CODE, "Application request limit reached", QUOTA_SUBCODE,
                               error_user_msg="You reached maximum number of posts that is allowed to be published "
                                              "by Content Publishing API.")
        media_id = str(next(self._ids))
        c["status"] = "PUBLISHED"
        self.posts.append({"id": media_id, "caption": c["caption"], "image": c["image"], "size": c["size"],
                           "alt_text": c["alt_text"], "at": now,
                           "permalink": f"{self.permalink_base}Qr{media_id[-9:]}/"})
        if self.lose_publish_answers:
            self.lose_publish_answers -= 1
            return graph_error(500, 2, "An unexpected error has occurred. Please retry your request later.",
                               is_transient=True)
        if self.after_publishing:
            return self.after_publishing.pop(0)
        return Answer(200, {"id": media_id})



class MediaSide:
    """The bot's HTTP side (``bot.web``) on a free port of this machine, serving ``/media/…`` from a bot's
    database by the bot's clock: where a bot run in this process (or ``bot poll``) puts the pictures Instagram
    fetches, as any replica's HTTP side would serve them. ``public_url`` is its address (``server.public_url``)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.public_url = f"http://127.0.0.1:{self.port}"
        self.web: Any = None
        self.store: Any = None
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def start(self, database: str, now: Callable[[], datetime]) -> None:
        """Serve the pictures of ``database`` by ``now`` (again: another database, the same address)."""
        from bot.store import Store
        from bot.web import WebSide
        from bot.web.app import Hooks, build_app

        if self.store is not None:
            self.store.close()
        self.store, self.now = Store.open(database), now
        if self.web is None:
            self.web = WebSide("127.0.0.1", self.port, build_app(Hooks(
                lambda: (True, {"ok": True}), image=lambda key: self.store.hosted_image(key, self.now()))))
            self.web.start()

    def get(self, url: str) -> int:
        """The status a GET of a hosted picture's address gets."""
        return requests.get(url, timeout=5).status_code

    def close(self) -> None:
        if self.web is not None:
            self.web.stop()
        if self.store is not None:
            self.store.close()
