"""A local Threads API (../shared/CONTRACTS.md, Threads; Meta's Threads API documentation) for one profile:
containers (TEXT with a ``link_attachment``, IMAGE whose ``image_url`` it really fetches over HTTP, as Meta's
crawler does, refusing what is not an image; IN_PROGRESS, then FINISHED), ``threads_publish`` (250 posts in
a moving 24 hours, on the test's clock), ``threads_publishing_limit``, the permalink, delete, ``/me``, and the
long-lived token: checked on every request (190 when wrong or expired), refreshed by ``refresh_access_token``
(only once it is a day old), the old one then refused. Text over 500 UTF-8 bytes is refused as Threads refuses
it (``Param text must be at most 500 characters long``), more than 5 different links with
``THREADS_API__LINK_LIMIT_EXCEEDED``. Everything it was sent is recorded for the tests' assertions."""

from __future__ import annotations

import itertools
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import ManualClock

from .servers import Answer, FakeServer, Request

LINKS = re.compile(r"(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)
CONTAINER_KEYS = {"media_type", "text", "image_url", "link_attachment", "access_token", "reply_control",
                  "topic_tag", "alt_text"}
LIFETIME = timedelta(days=60)
QUOTA = 250


def threads_error(status: int, code: int, message: str, kind: str = "OAuthException", **extra: Any) -> Answer:
    return Answer(status, {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AxYz123Threads",
                                     **extra}})


def expired_token() -> Answer:
    return threads_error(400, 190, "Error validating access token: Session has expired.", error_subcode=463)


@dataclass
class Container:
    id: str
    media_type: str
    text: str
    link_attachment: str | None = None
    image_url: str | None = None
    image: bytes | None = None  #: what Meta's crawler fetched
    status: str = "IN_PROGRESS"
    error_message: str | None = None
    reads: int = 0  #: status reads so far


@dataclass
class TokenInfo:
    issued: datetime
    expires: datetime
    valid: bool = True


@dataclass
class ThreadsPost:
    id: str
    container: Container
    at: datetime
    permalink: str
    token: str = field(repr=False, default="")  #: the token it was published with


class FakeThreads(FakeServer):
    """One profile (``user_id``, ``username``) and its tokens. ``processing_reads``: how many status reads an
    image container answers IN_PROGRESS before FINISHED (None: for ever); ``published_elsewhere``: API posts
    of the last 24 hours made by other apps, counted against the quota."""

    def __init__(self, clock: ManualClock, user_id: str = "25012345678901234", username: str = "qurays_news",
                 token: str = "THAAGfakeLongLived-0123456789abcdefghijklmnopqrstuvwxyz") -> None:
        super().__init__()
        self.clock = clock
        self.user_id, self.username = user_id, username
        self.token = token
        self.tokens: dict[str, TokenInfo] = {token: TokenInfo(clock.now() - timedelta(days=2),
                                                              clock.now() + LIFETIME - timedelta(days=2))}
        self.containers: dict[str, Container] = {}
        self.posts: list[ThreadsPost] = []
        self.deleted: list[str] = []
        self.fetched: list[tuple[str, int]] = []  #: (image_url, HTTP status) as Meta's crawler fetched them
        self.refreshes: list[str] = []  #: the new tokens issued
        self.used_tokens: list[str] = []  #: the token of every request, in order
        self.processing_reads: int | None = 1
        self.published_elsewhere: list[datetime] = []
        self.step_faults: dict[str, list[tuple[Answer | None, float]]] = {}
        self.before: dict[str, Callable[[], None]] = {}  #: run once when a request of that step arrives
        self.permalink_base = "https://www.threads.com"  #: where its posts' permalinks point
        self._ids = itertools.count(18000000000000001)
        self._tokens = itertools.count(1)

    # --- what tests set up ---------------------------------------------------------------------------------

    def token_expires_in(self, delta: timedelta) -> None:
        """The current token ends ``delta`` from now (as if it were made ``60 days - delta`` ago)."""
        info = self.tokens[self.token]
        info.expires = self.clock.now() + delta
        info.issued = info.expires - LIFETIME

    def quota_used(self) -> int:
        start = self.clock.now() - timedelta(hours=24)
        return sum(1 for p in self.posts if p.at > start) + sum(1 for at in self.published_elsewhere if at > start)

    def fail_step(self, step: str, answer: Answer | None = None, hang: float = 0.0) -> None:
        """The next request of ``step`` (``quota``, ``container``, ``status``, ``publish``, ``permalink``,
        ``refresh``, ``delete``, ``me``) is answered ``answer`` after ``hang`` seconds; with no answer it is done
        as usual and answered ``hang`` seconds late (paths alone cannot tell them apart: they share prefixes)."""
        self.step_faults.setdefault(step, []).append((answer, hang))

    def step(self, request: Request) -> str:
        """Which step of a post a request is."""
        path = request.path.removeprefix("/v1.0")
        if request.path == "/refresh_access_token":
            return "refresh"
        if path.startswith(f"/{self.user_id}/"):
            return {"threads": "container", "threads_publish": "publish",
                    "threads_publishing_limit": "quota"}.get(path.rsplit("/", 1)[1], "other")
        if path in ("/me", f"/{self.user_id}"):
            return "me"
        if request.method == "DELETE":
            return "delete"
        return "status" if path.strip("/") in self.containers else "permalink"

    # --- the API -------------------------------------------------------------------------------------------

    def before_step(self, step: str, run: Callable[[], None]) -> None:
        """``run`` (once) when the next request of ``step`` arrives, before it is answered: something that
        happens meanwhile (another replica refreshing the token)."""
        self.before[step] = run

    def answer(self, request: Request) -> Answer:
        hook = self.before.pop(self.step(request), None)
        if hook is not None:
            hook()
        queued = self.step_faults.get(self.step(request))
        if queued:
            fault, hang = queued.pop(0)
            if fault is None:  # done, then answered late
                done = self._answer(request)
                time.sleep(hang)
                return done
            time.sleep(hang)
            return fault
        return self._answer(request)

    def _answer(self, request: Request) -> Answer:
        params = request.form() if request.method == "POST" else dict(request.query)
        token = str(params.get("access_token") or "")
        self.used_tokens.append(token)
        info = self.tokens.get(token)
        if info is None or not info.valid:
            return threads_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if self.clock.now() >= info.expires:
            return expired_token()
        if request.method == "GET" and request.path == "/refresh_access_token":
            return self._refresh(token, info, params)
        if not request.path.startswith("/v1.0/"):
            return threads_error(400, 2500, "Unknown path components", "OAuthException")
        path = request.path.removeprefix("/v1.0")
        if request.method == "GET" and path in ("/me", f"/{self.user_id}"):
            return Answer(200, {"id": self.user_id, "username": self.username})
        if request.method == "GET" and path == f"/{self.user_id}/threads_publishing_limit":
            return Answer(200, {"data": [{"quota_usage": self.quota_used(),
                                          "config": {"quota_total": QUOTA, "quota_duration": 86400}}]})
        if request.method == "POST" and path == f"/{self.user_id}/threads":
            return self._container(params)
        if request.method == "POST" and path == f"/{self.user_id}/threads_publish":
            return self._publish(params, token)
        thing = path.strip("/")
        if request.method == "GET" and thing in self.containers:
            c = self.containers[thing]
            c.reads += 1
            if c.status == "IN_PROGRESS" and self.processing_reads is not None and c.reads > self.processing_reads:
                c.status = "FINISHED"
            return Answer(200, {"id": c.id, "status": c.status,
                                **({"error_message": c.error_message} if c.error_message else {})})
        post = next((p for p in self.posts if p.id == thing), None)
        if request.method == "GET" and post is not None:
            return Answer(200, {"id": post.id, "permalink": post.permalink})
        if request.method == "DELETE" and post is not None:
            self.posts.remove(post)
            self.deleted.append(post.id)
            return Answer(200, {"success": True, "deleted_id": post.id})
        if request.method == "DELETE":
            return threads_error(400, 100, f"Unsupported delete request. Object with ID '{thing}' does not exist",
                                 "THApiException", error_subcode=33)
        return threads_error(400, 100, "Unsupported request", "THApiException")

    def _refresh(self, token: str, info: TokenInfo, params: dict[str, Any]) -> Answer:
        if params.get("grant_type") != "th_refresh_token":
            return threads_error(400, 100, "Invalid grant_type: th_refresh_token expected", "THApiException")
        if self.clock.now() - info.issued < timedelta(hours=24):  # Meta refreshes only tokens a day old
            return threads_error(400, 100, "The access token cannot be refreshed: it is less than 24 hours old",
                                 "THApiException")
        new = f"THAAGrefreshed-{next(self._tokens)}-abcdefghijklmnopqrstuvwxyz0123456789"
        self.tokens[new] = TokenInfo(self.clock.now(), self.clock.now() + LIFETIME)
        info.valid = False  # the old one is refused from now on: the bot must use the new one
        self.token = new
        self.refreshes.append(new)
        return Answer(200, {"access_token": new, "token_type": "bearer", "expires_in": int(LIFETIME.total_seconds())})

    def _container(self, params: dict[str, Any]) -> Answer:
        unknown = set(params) - CONTAINER_KEYS
        if unknown:
            self.problems.append(f"container: unknown parameters {sorted(unknown)}")
        kind = params.get("media_type")
        text = str(params.get("text") or "")
        if kind not in ("TEXT", "IMAGE", "VIDEO"):
            return threads_error(400, 100, "Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}",
                                 "THApiException")
        if len(text.encode("utf-8")) > 500:  # as Threads counts: UTF-8 bytes
            return threads_error(400, 100, "Param text must be at most 500 characters long.", "THApiException")
        attachment = params.get("link_attachment")
        if attachment is not None and kind != "TEXT":
            return threads_error(400, 100, "Param link_attachment is only for TEXT posts", "THApiException")
        links = {m.group(0).rstrip(".,،") for m in LINKS.finditer(text)} | ({str(attachment)} if attachment else set())
        if len(links) > 5:
            return threads_error(400, 100, "THREADS_API__LINK_LIMIT_EXCEEDED: a post may have at most 5 links",
                                 "THApiException")
        c = Container(str(next(self._ids)), str(kind), text, str(attachment) if attachment else None)
        if kind == "TEXT":
            if not text:
                return threads_error(400, 100, "Param text is required for TEXT posts", "THApiException")
            c.status = "FINISHED"
        elif kind == "IMAGE":
            url = str(params.get("image_url") or "")
            if not url.startswith(("http://", "https://")):
                return threads_error(400, 100, "Param image_url must be a valid URL", "THApiException")
            c.image_url = url
            self._crawl(c)
        self.containers[c.id] = c
        return Answer(200, {"id": c.id})

    def _crawl(self, c: Container) -> None:
        """Fetch the container's image as Meta's crawler does, now; what is not a JPEG or PNG is an ERROR."""
        assert c.image_url is not None
        try:
            with urllib.request.urlopen(c.image_url, timeout=5) as resp:
                data, kind, status = resp.read(), resp.headers.get("Content-Type", ""), resp.status
        except urllib.error.HTTPError as exc:
            self.fetched.append((c.image_url, exc.code))
            c.status, c.error_message = "ERROR", "FAILED_DOWNLOADING_IMAGE"
            return
        except OSError:
            self.fetched.append((c.image_url, 0))
            c.status, c.error_message = "ERROR", "FAILED_DOWNLOADING_IMAGE"
            return
        self.fetched.append((c.image_url, status))
        if not kind.startswith("image/") or not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
            c.status, c.error_message = "ERROR", "UNSUPPORTED_IMAGE_FORMAT"
            return
        c.image = data

    def _publish(self, params: dict[str, Any], token: str) -> Answer:
        c = self.containers.get(str(params.get("creation_id") or ""))
        if c is None:
            return threads_error(400, 24, "The requested resource does not exist", "THApiException",
                                 error_subcode=4279009)
        if c.status == "PUBLISHED":
            return threads_error(400, 100, "The media has already been published", "THApiException")
        if c.status != "FINISHED":
            return threads_error(400, 24, "The media is not ready for publishing, please wait for a moment",
                                 "THApiException", error_subcode=4279009)
        if self.quota_used() >= QUOTA:
            return threads_error(400, 4, "Application request limit reached: 250 posts in 24 hours")
        c.status = "PUBLISHED"
        media_id = str(next(self._ids))
        code = f"D{media_id[-9:]}x"
        self.posts.append(ThreadsPost(media_id, c, self.clock.now(),
                                      f"{self.permalink_base}/@{self.username}/post/{code}", token))
        return Answer(200, {"id": media_id})

    def texts(self) -> list[str]:
        return [p.container.text for p in self.posts]

