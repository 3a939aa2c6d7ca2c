"""A local Graph API (v26.0) for one Page: checks the Page token, stores link and photo posts, refuses a
repeated message as Facebook's 506 duplicate, and answers with Facebook's error shape."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from typing import Any

from .servers import Answer, FakeServer, Request


def graph_error(status: int, code: int, message: str, kind: str = "OAuthException", **extra: Any) -> Answer:
    return Answer(status, {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbC123xYz",
                                     **extra}})


class FakeFacebook(FakeServer):
    def __init__(self, page_id: str = "104512345678901", token: str = "EAAGfakePageToken") -> None:
        super().__init__()
        self.page_id = page_id
        self.token = token
        self.posts: list[dict[str, Any]] = []
        self._ids = itertools.count(900001)
        #: what debug_token says of the token: when it expires, and when its data access does (0: never)
        self.expires_at = 0
        self.data_access_expires_at = 0

    def answer(self, request: Request) -> Answer:
        if not request.path.startswith("/v26.0/"):
            return graph_error(400, 2500, "Unknown path components", "OAuthException")
        params = request.form() if request.method == "POST" else dict(request.query)
        if params.get("access_token") != self.token:
            return graph_error(400, 190, "Error validating access token: Session has expired.",
                               error_subcode=463)
        path = request.path.removeprefix("/v26.0")
        if request.method == "GET" and path == "/debug_token":
            if params.get("input_token") != self.token:
                return graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
            return Answer(200, {"data": {"app_id": "1234567890", "type": "PAGE", "application": "wp-social-bot",
                                         "expires_at": self.expires_at, "is_valid": True,
                                         "data_access_expires_at": self.data_access_expires_at,
                                         "profile_id": self.page_id, "scopes": ["pages_manage_posts"]}})
        if request.method == "GET" and path == f"/{self.page_id}":
            return Answer(200, {"id": self.page_id, "name": "قريش"})
        if request.method == "DELETE":
            before = len(self.posts)
            self.posts = [p for p in self.posts if p["id"] != path.strip("/")]
            return Answer(200, {"success": len(self.posts) < before})
        if request.method == "POST" and path in (f"/{self.page_id}/feed", f"/{self.page_id}/photos"):
            message = str(params.get("message", ""))
            if any(p["message"] == message for p in self.posts):
                return graph_error(400, 506, "Duplicate status message", error_subcode=1455006)
            post_id = f"{self.page_id}_{next(self._ids)}"
            if path.endswith("/feed"):
                if not params.get("link", "").startswith(("http://", "https://")):
                    return graph_error(400, 100, "Invalid parameter", "OAuthException")
                self.posts.append({"id": post_id, "message": message, "link": params["link"]})
                return Answer(200, {"id": post_id})
            source = params.get("source")
            if not isinstance(source, EmailMessage):
                return graph_error(400, 324, "Requires upload file", "OAuthException")
            self.posts.append({"id": post_id, "message": message, "photo": source.get_payload(decode=True)})
            return Answer(200, {"id": str(next(self._ids)), "post_id": post_id})
        return graph_error(400, 100, "Unsupported request", "GraphMethodException")
