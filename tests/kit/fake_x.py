"""A local X API v2 that answers as X does (../shared/CONTRACTS.md, X section), over a real socket.

- Every request's OAuth 1.0a signature is verified with oauthlib, against the URL as received and against
  X's canonical hosts (tweepy signs for https://api.twitter.com; the bot's own upload for https://api.x.com);
  a bad one gets X's 401.
- ``POST /2/tweets`` bodies are validated against X's own OpenAPI document (when ../shared is here), so a
  body X would refuse fails the test.
- Posts and media are stored; duplicate text gets X's 403; a 24-hour cap answers 429 with X's headers.
- Faults for the next N calls: 5xx, 429 with a reset, a hang, or "store the post, then hang" (a crash
  between X's answer and the bot's commit).
- No edit: X's OpenAPI document has no ``PUT`` or ``PATCH`` on ``/2/tweets/{id}``, so such a request is answered
  404 as X answers a route it does not have, and kept in ``edit_attempts`` (a test asserts the bot made none).
- A delete of a post that is not there is answered as ``missing_delete`` says: X v2's problem for a resource
  not found (``resource-not-found``, in a 200), ``{"deleted": false}``, or a 404.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from typing import Any

from oauthlib import oauth1
from oauthlib.oauth1.rfc5849 import signature, utils

from bot.clock import ManualClock

from .paths import CONTRACTS
from .servers import Answer, FakeServer, Request

SPEC = CONTRACTS / "x-api-v2-openapi.json"
CANONICAL = ("https://api.twitter.com", "https://api.x.com", "https://upload.twitter.com")
DUPLICATE = {"detail": "You are not allowed to create a Tweet with duplicate content.", "type": "about:blank",
             "title": "Forbidden", "status": 403}
#: X's pay-per-use prices in micro-dollars (docs.x.com, "X API pay-per-usage pricing and credits", 2026-12).
PRICES = {"Content: Create": 15_000, "Content: Create (with URL)": 200_000, "User: Read": 10_000,
          "Interaction: Delete": 10_000}
_validator: Any = None
_validator_lock = threading.Lock()


def tweet_body_problem(body: bytes) -> str | None:
    """Why X's OpenAPI document refuses this POST /2/tweets body (None: accepted, or the spec is absent)."""
    global _validator
    if not SPEC.exists():
        return None
    from openapi_core import Config, OpenAPI
    from openapi_core.testing import MockRequest
    from openapi_core.validation.request.validators import V30RequestBodyValidator

    with _validator_lock:
        if _validator is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spec = OpenAPI.from_file_path(str(SPEC), config=Config(spec_validator_cls=None)).spec
            _validator = V30RequestBodyValidator(spec)
        request = MockRequest("https://api.x.com", "post", "/2/tweets", data=body, content_type="application/json")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _validator.validate(request)
        except Exception as exc:
            return str(exc)[:300]
    return None


@dataclass
class Fault:
    path: str
    status: int = 503
    body: dict[str, Any] = field(default_factory=lambda: {"title": "Service Unavailable", "status": 503})
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0
    store_first: bool = False  #: store the post, then hang, then answer


class FakeX(FakeServer):
    """X API v2. Faults here are X's own kind (``Fault`` above), checked after the signature, as X does."""

    methods = ("GET", "POST", "PUT", "PATCH", "DELETE")

    def __init__(self, clock: ManualClock, *, consumer_key: str = "ck-123", consumer_secret: str = "cs-456",
                 token: str = "at-789", token_secret: str = "ats-012", username: str = "qurays_news",
                 daily_cap: int = 17) -> None:
        super().__init__()
        self.clock = clock
        self.keys = {"consumer_key": consumer_key, "consumer_secret": consumer_secret, "token": token,
                     "token_secret": token_secret}
        self._signer = oauth1.Client(consumer_key, client_secret=consumer_secret, resource_owner_key=token,
                                     resource_owner_secret=token_secret)
        self.username = username
        self.daily_cap = daily_cap
        self.tweets: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.revoked = False
        self.validation_errors: list[str] = []
        self.edit_attempts: list[tuple[str, str]] = []  #: (method, path) of every PUT or PATCH on a post
        self.missing_delete = "problem"  #: how a delete of a post not there is answered: problem, false or 404
        self._ids = itertools.count(1_861_000_000_000_000_000)
        #: X's pay-per-use: what each charged request cost (X's name of the price, micro-dollars), the prepaid
        #: credits left (None: plenty) and the spending limit of the Developer Console (None: none)
        self.charges: list[tuple[str, int]] = []
        self.credits: int | None = None
        self.spend_cap: int | None = None
        self.spend_cap_reset = "2027-01-01"

    def credentials(self, **override: str) -> dict[str, str]:
        keys = {"consumer_key": self.keys["consumer_key"], "consumer_secret": self.keys["consumer_secret"],
                "access_token": self.keys["token"], "access_token_secret": self.keys["token_secret"]}
        return {**keys, **override}

    # Steering.

    def fail_next(self, n: int, status: int = 503, path: str = "/2/tweets") -> None:
        body = {"title": "Service Unavailable" if status == 503 else "Internal Server Error", "status": status,
                "type": "about:blank", "detail": "Service Unavailable"}
        self.faults.extend(Fault(path, status, body) for _ in range(n))

    def rate_limit_next(self, reset: datetime, path: str = "/2/tweets", daily: bool = False) -> None:
        epoch = str(int(reset.timestamp()))
        headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": epoch}
        if daily:
            headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "99",
                       "x-rate-limit-reset": str(int((self.clock.now() + timedelta(minutes=15)).timestamp())),
                       "x-user-limit-24hour-limit": str(self.daily_cap), "x-user-limit-24hour-remaining": "0",
                       "x-user-limit-24hour-reset": epoch}
        self.faults.append(Fault(path, 429, {"title": "Too Many Requests", "detail": "Too Many Requests",
                                             "type": "about:blank", "status": 429}, headers))

    def hang_next(self, seconds: float, path: str = "/2/tweets", store_first: bool = False) -> None:
        self.faults.append(Fault(path, 201, {}, {}, hang=seconds, store_first=store_first))

    # Serving.

    def respond(self, request: Request) -> Answer:
        status, payload, headers = self._answer(request)
        return Answer(status, payload, headers)

    def _answer(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        path, body = request.path, request.body
        if request.method in ("PUT", "PATCH") and path.startswith("/2/tweets/"):
            with self._lock:
                self.edit_attempts.append((request.method, path))
        problem = self._auth_problem(request)
        if problem or self.revoked:
            return 401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                         "detail": "Unauthorized"}, {}
        fault = None
        with self._lock:
            for f in self.faults:
                if path.startswith(f.path):
                    fault = f
                    self.faults.remove(f)
                    break
        if fault and not fault.store_first:
            if fault.hang:
                time.sleep(fault.hang)
            else:
                return fault.status, fault.body, fault.headers
        if request.method == "POST" and path == "/2/tweets":
            price = self._price_of(body)
            if price is not None and (refused := self._refuse_for_money(price[1])) is not None:
                return refused
            answer = self._create(body)
            if answer[0] == 201 and price is not None:
                self._charge(*price)
            if fault and fault.store_first:
                time.sleep(fault.hang)
            return answer
        if request.method == "POST" and path == "/2/media/upload":
            return self._upload(request)
        if request.method == "GET" and path == "/2/users/me":
            if (refused := self._refuse_for_money(PRICES["User: Read"])) is not None:
                return refused
            self._charge("User: Read", PRICES["User: Read"])
            return 200, {"data": {"id": "1711000000000000000", "name": "قريش", "username": self.username}}, {}
        if request.method == "DELETE" and path.startswith("/2/tweets/"):
            if (refused := self._refuse_for_money(PRICES["Interaction: Delete"])) is not None:
                return refused
            self._charge("Interaction: Delete", PRICES["Interaction: Delete"])
            tweet_id = path.rsplit("/", 1)[-1]
            with self._lock:
                found = [t for t in self.tweets if t["id"] == tweet_id]
                for t in found:
                    self.tweets.remove(t)
            return (200, {"data": {"deleted": True}}, {}) if found else self._not_found(tweet_id)
        return 404, {"title": "Not Found Error", "status": 404, "type": "about:blank",
                     "detail": f"Sorry, that page does not exist: {path}"}, {}

    def _not_found(self, tweet_id: str) -> tuple[int, Any, dict[str, str]]:
        """X's answer to a delete of a post that is not there (``missing_delete``)."""
        problem = {"value": tweet_id, "detail": f"Could not find post with id: [{tweet_id}].",
                   "title": "Not Found Error", "resource_type": "tweet", "parameter": "id", "resource_id": tweet_id,
                   "type": "https://api.x.com/2/problems/resource-not-found"}
        if self.missing_delete == "false":
            return 200, {"data": {"deleted": False}}, {}
        if self.missing_delete == "404":
            return 404, {**problem, "status": 404}, {}
        return 200, {"errors": [problem]}, {}

    # Money (X's pay-per-use: CONTRACTS.md, X section).

    @property
    def spent(self) -> int:
        with self._lock:
            return sum(c for _, c in self.charges)

    def _price_of(self, body: bytes) -> tuple[str, int] | None:
        """X's price for this POST /2/tweets: with a URL (twitter-text finds one in the text) or without."""
        from twitter_text import extract_urls

        try:
            text = json.loads(body)["text"]
        except (ValueError, KeyError, TypeError):
            return None
        name = "Content: Create (with URL)" if extract_urls(text) else "Content: Create"
        return name, PRICES[name]

    def _refuse_for_money(self, price: int) -> tuple[int, Any, dict[str, str]] | None:
        """X's answers when it will not do a charged request: the credits are used up (402), the spending limit
        is reached (403) (as reported by X API users, 2026)."""
        spent = self.spent
        if self.credits is not None and self.credits - spent < price:
            return 402, {"title": "CreditsDepleted", "type": "https://api.twitter.com/2/problems/credits",
                         "detail": "Your enrolled account [1711000000000000000] does not have any credits to "
                                   "fulfill this request."}, {}
        if self.spend_cap is not None and spent + price > self.spend_cap:
            return 403, {"title": "SpendCapReached", "type": "https://api.twitter.com/2/problems/spend-cap",
                         "detail": "Your account has reached its spending limit for this billing cycle.",
                         "reset_date": self.spend_cap_reset}, {}
        return None

    def _charge(self, name: str, price: int) -> None:
        with self._lock:
            self.charges.append((name, price))

    def _create(self, body: bytes) -> tuple[int, Any, dict[str, str]]:
        problem = tweet_body_problem(body)
        if problem:
            self.validation_errors.append(problem)
            return 400, {"errors": [{"message": problem}], "title": "Invalid Request", "type": "about:blank",
                         "detail": "One or more parameters to your request was invalid."}, {}
        request = json.loads(body)
        text = request["text"]
        media_ids = (request.get("media") or {}).get("media_ids", [])
        now = self.clock.now()
        with self._lock:
            if any(t["text"] == text for t in self.tweets):
                return 403, DUPLICATE, {}
            unknown = [m for m in media_ids if m not in self.media]
            if unknown:
                return 400, {"errors": [{"message": f"Your media IDs are invalid: {unknown}"}],
                             "title": "Invalid Request", "type": "about:blank",
                             "detail": "One or more parameters to your request was invalid."}, {}
            recent = [t for t in self.tweets if t["created"] > now - timedelta(hours=24)]
            reset = str(int((min((t["created"] for t in recent), default=now) + timedelta(hours=24)).timestamp()))
            limits = {"x-user-limit-24hour-limit": str(self.daily_cap), "x-user-limit-24hour-reset": reset}
            if len(recent) >= self.daily_cap:
                return 429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                             "status": 429}, {**limits, "x-user-limit-24hour-remaining": "0"}
            tweet = {"id": str(next(self._ids)), "text": text, "media_ids": media_ids, "created": now}
            self.tweets.append(tweet)
        limits["x-user-limit-24hour-remaining"] = str(self.daily_cap - len(recent) - 1)
        return 201, {"data": {"id": tweet["id"], "text": text, "edit_history_tweet_ids": [tweet["id"]]}}, limits

    def _upload(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        body = request.body
        kind = request.headers.get("Content-Type", "")
        if not kind.startswith("multipart/form-data"):
            return 400, {"title": "Invalid Request", "detail": "expected multipart/form-data"}, {}
        message = BytesParser(policy=policy.default).parsebytes(
            f"Content-Type: {kind}\r\n\r\n".encode() + body)
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        media = parts.get("media")
        category = parts.get("media_category")
        if media is None or category is None or category.get_content().strip() != "tweet_image":
            return 400, {"title": "Invalid Request", "detail": "media and media_category=tweet_image required"}, {}
        data = media.get_payload(decode=True) or b""
        media_id = str(next(self._ids))
        with self._lock:
            self.media[media_id] = {"size": len(data), "content_type": media.get_content_type(), "data": data}
        return 200, {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(data),
                              "expires_after_secs": 86400}}, {}

    def _auth_problem(self, request: Request) -> str | None:
        body = request.body
        header = request.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            return "no OAuth header"
        params = dict(utils.parse_authorization_header(header))
        if params.get("oauth_consumer_key") != self.keys["consumer_key"] or \
                params.get("oauth_token") != self.keys["token"]:
            return "unknown key or token"
        if params.get("oauth_signature_method") != "HMAC-SHA1":
            return "not HMAC-SHA1"
        query = request.raw_query
        form = body.decode() if request.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded") else None
        collected = signature.collect_parameters(uri_query=query, body=form, headers={"Authorization": header},
                                                 exclude_oauth_signature=True)
        normalized = signature.normalize_parameters(collected)
        path = request.path
        host = request.headers.get("Host", "")
        for base in (f"http://{host}", *CANONICAL):
            base_string = signature.signature_base_string(request.method, signature.base_string_uri(base + path),
                                                          normalized)
            expected = signature.sign_hmac_sha1_with_client(base_string, self._signer)
            if utils.unescape(params.get("oauth_signature", "")) == expected:
                return None
        return "bad signature"

