"""A local PDS for one account: createSession (a decodable JWT, no didDoc, as CONTRACTS.md asks),
getProfile, refreshSession, createRecord (validated: text ≤ 300 graphemes and 3000 bytes, facets at UTF-8
byte offsets that match the text, a TID record key), getRecord, deleteRecord (a record that is not there:
success, as the PDS answers), uploadBlob (≤ 1,000,000 bytes), and ratelimit headers on 429. Bluesky has no
edit: ``com.atproto.repo.putRecord`` of an ``app.bsky.feed.post`` is refused 400 ``InvalidRequest`` and kept
in ``edit_attempts`` (a test asserts the bot made none)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import time
from typing import Any

import regex

from .servers import Answer, FakeServer, Request

TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def xrpc_error(status: int, error: str, message: str, **headers: str) -> Answer:
    return Answer(status, {"error": error, "message": message}, dict(headers))


def _jwt(payload: dict[str, Any]) -> str:
    def part(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'at+jwt'})}.{part(payload)}.c2lnbmF0dXJl"


class FakeBluesky(FakeServer):
    def __init__(self, handle: str = "qurays.bsky.social", password: str = "abcd-efgh-ijkl-mnop",
                 did: str = "did:plc:qurays1234567890abcdef") -> None:
        super().__init__()
        self.handle = handle
        self.password = password
        self.did = did
        self.records: dict[str, dict[str, Any]] = {}  #: rkey → record
        self.blobs: dict[str, bytes] = {}
        self.logins = 0
        self.refreshes = 0
        self.duplicate_status = 409  #: how an existing record key is refused (older PDSes: 500)
        self.edit_attempts: list[dict[str, Any]] = []  #: the body of every putRecord of a post
        self._tokens = itertools.count(1)
        self._access: set[str] = set()
        self._refresh: set[str] = set()

    def session(self, lifetime: int = 7200) -> dict[str, Any]:
        n = next(self._tokens)
        now = int(time.time())
        access = _jwt({"scope": "com.atproto.appPass", "sub": self.did, "iat": now, "exp": now + lifetime,
                       "aud": "did:web:pds.example", "jti": f"a{n}"})
        refresh = _jwt({"scope": "com.atproto.refresh", "sub": self.did, "iat": now, "exp": now + 86400 * 60,
                        "aud": "did:web:pds.example", "jti": f"r{n}"})
        self._access.add(access)
        self._refresh.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": self.handle, "did": self.did, "active": True}

    def answer(self, request: Request) -> Answer:
        nsid = request.path.removeprefix("/xrpc/")
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        putting_a_post = nsid == "com.atproto.repo.putRecord" and \
            (request.json() if request.body else {}).get("collection") == "app.bsky.feed.post"
        if putting_a_post:
            self.edit_attempts.append(request.json())
        if nsid == "com.atproto.server.createSession":
            body = request.json()
            if body.get("identifier") not in (self.handle, self.did) or body.get("password") != self.password:
                return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
            self.logins += 1
            return Answer(200, self.session())
        if nsid == "com.atproto.server.refreshSession":
            if bearer not in self._refresh:
                return xrpc_error(400, "ExpiredToken", "Token has expired")
            self._refresh.discard(bearer)
            self.refreshes += 1
            return Answer(200, self.session())
        if bearer not in self._access:
            return xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        if nsid == "app.bsky.actor.getProfile":
            return Answer(200, {"did": self.did, "handle": self.handle, "displayName": "قريش"})
        if nsid == "com.atproto.repo.uploadBlob":
            if len(request.body) > 1_000_000:
                return xrpc_error(400, "BlobTooLarge", "This file is too large")
            cid = "bafkrei" + hashlib.sha256(request.body).hexdigest()[:52]
            self.blobs[cid] = request.body
            return Answer(200, {"blob": {"$type": "blob", "ref": {"$link": cid},
                                         "mimeType": request.headers.get("Content-Type", "*/*"),
                                         "size": len(request.body)}})
        if nsid == "com.atproto.repo.createRecord":
            return self._create(request.json())
        if nsid == "com.atproto.repo.getRecord":
            rkey = request.query.get("rkey", "")
            if rkey in self.records:
                return Answer(200, {"uri": self._uri(rkey), "cid": "bafyrei" + rkey, "value": self.records[rkey]})
            return xrpc_error(400, "RecordNotFound", f"Could not locate record: {self._uri(rkey)}")
        if putting_a_post:
            return xrpc_error(400, "InvalidRequest", "Posts cannot be edited: app.bsky.feed.post records are not "
                                                     "updated (delete the post and post again)")
        if nsid == "com.atproto.repo.deleteRecord":
            self.records.pop(request.json().get("rkey", ""), None)
            return Answer(200, {})
        return xrpc_error(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}")

    def _uri(self, rkey: str) -> str:
        return f"at://{self.did}/app.bsky.feed.post/{rkey}"

    def _create(self, body: dict[str, Any]) -> Answer:
        rkey = str(body.get("rkey") or "")
        record = body.get("record") or {}
        problem = self._check(body, rkey, record)
        if problem:
            self.problems.append(problem)
            return xrpc_error(400, "InvalidRequest", problem)
        if rkey in self.records:
            if self.duplicate_status == 500:
                return xrpc_error(500, "InternalServerError", "Internal Server Error")
            return xrpc_error(409, "RecordAlreadyExists", f"Record already exists: {self._uri(rkey)}")
        self.records[rkey] = record
        return Answer(200, {"uri": self._uri(rkey), "cid": "bafyrei" + rkey, "validationStatus": "valid"})

    def _check(self, body: dict[str, Any], rkey: str, record: dict[str, Any]) -> str | None:
        if body.get("repo") != self.did or body.get("collection") != "app.bsky.feed.post":
            return "repo or collection is wrong"
        if not TID.match(rkey):
            return f"Invalid record key for app.bsky.feed.post (a TID is required): {rkey!r}"
        text = record.get("text", "")
        if len(regex.findall(r"\X", text)) > 300 or len(text.encode()) > 3000:
            return "Record/text must not be longer than 300 graphemes"
        if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", str(record.get("createdAt", ""))):
            return "Record/createdAt must be an ISO datetime"
        raw = text.encode()
        for facet in record.get("facets") or []:
            start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
            piece = raw[start:end].decode("utf-8", errors="strict")
            for feature in facet["features"]:
                kind = feature["$type"]
                if kind.endswith("#link") and feature["uri"] != piece:
                    return f"link facet {feature['uri']!r} does not cover {piece!r}"
                if kind.endswith("#tag") and "#" + feature["tag"] != piece:
                    return f"tag facet {feature['tag']!r} does not cover {piece!r}"
        thumb = ((record.get("embed") or {}).get("external") or {}).get("thumb")
        if thumb and thumb.get("ref", {}).get("$link") not in self.blobs:
            return "the card's thumbnail blob was never uploaded"
        return None
