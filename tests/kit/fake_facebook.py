"""A local Graph API (v26.0) for one Page: checks the Page token, stores link and photo posts, refuses a
repeated message as Facebook's 506 duplicate, and answers with Facebook's error shape. A post's message is
edited with ``POST /{post-id}`` (``{"success": true}``; each post keeps its earlier messages in ``edits``); an
edit or a delete of a post that is not there is refused with code 100, subcode 33, as the Graph API refuses it."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from typing import Any

from .servers import Answer, FakeServer, Request


def graph_error(status: int, code: int, message: str, kind: str = "OAuthException", **extra: Any) -> Answer:
    return Answer(status, {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbC123xYz",
                                     **extra}})


def not_there(method: str, object_id: str) -> Answer:
    """The Graph API's answer to a request on an object that does not exist (or the token cannot see)."""
    return graph_error(400, 100, f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not "
                       "exist, cannot be loaded due to missing permissions, or does not support this operation. "
                       "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
                       "GraphMethodException", error_subcode=33)


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
        post = next((p for p in self.posts if p["id"] == path.strip("/")), None)
        if request.method == "DELETE":
            if post is None:
                return not_there("DELETE", path.strip("/"))
            self.posts.remove(post)
            return Answer(200, {"success": True})
        target = path.strip("/")
        if request.method == "POST" and target and "/" not in target and target != self.page_id:  # /{post-id}
            return self._edit(post, params) if post is not None else not_there("POST", target)
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

    def _edit(self, post: dict[str, Any], params: dict[str, Any]) -> Answer:
        unknown = set(params) - {"message", "access_token"}
        if unknown:
            self.problems.append(f"edit of {post['id']}: parameters the bot does not send {sorted(unknown)}")
        if "message" not in params:
            return graph_error(400, 100, "(#100) Nothing to update: message is required", "OAuthException")
        if str(params["message"]) != post["message"]:
            post.setdefault("edits", []).append(post["message"])  # the earlier messages, oldest first
            post["message"] = str(params["message"])
        return Answer(200, {"success": True})
