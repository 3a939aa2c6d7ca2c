"""WordPress's REST API: an article's real categories and tags (the feed mixes them), its featured image
and its excerpt, from ``/wp-json/wp/v2/posts/<id>?_embed``. Used when ``site.wordpress_api`` is on; any
failure leaves the feed's labels in place.

With ``site.wordpress_user`` and an application password the post is asked for with ``context=edit``, where the
companion plugin's post meta show (:class:`EditorSay`): whether to share it, a custom text (for every network,
or one network), and whether it is breaking news."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from bot.compose.text import clean_text, html_to_text
from bot.errors import PostNotThere, WordPressError

MAX_ANSWER = 2_000_000
#: The companion plugin's meta keys (``wordpress/wp-social-bot``), and the networks a text may be given for.
SHARE, TEXT, BREAKING = "wp_social_bot_share", "wp_social_bot_text", "wp_social_bot_breaking"
NETWORKS = ("x", "telegram", "facebook", "mastodon", "bluesky", "threads", "instagram", "discord")
#: A custom text, at most (characters; the plugin keeps 1,000).
MAX_TEXT = 1000


@dataclass(frozen=True)
class EditorSay:
    """What the editor chose for a post in the plugin's "Social" panel."""

    share: bool = True
    text: str = ""  #: used in place of the headline ('' : the headline)
    breaking: bool = False
    texts: Mapping[str, str] = field(default_factory=dict)  #: per network (``NETWORKS``), in place of ``text``


@dataclass(frozen=True)
class WordPressPost:
    """What the WordPress REST API says of a post."""

    id: int
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    excerpt: str
    featured_image: str | None
    say: EditorSay | None = None  #: None: the answer has no plugin meta (no plugin, or not asked as an editor)


def _text(value: Any) -> str:
    return clean_text(value[:MAX_TEXT * 2])[:MAX_TEXT].strip() if isinstance(value, str) else ""


def _flag(value: Any, default: bool) -> bool:
    # register_post_meta's booleans come back as true/false; "1"/"" from an older save are taken too.
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and str(value).strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, (int, str)) and str(value).strip().lower() in ("0", "false", "no", "off", ""):
        return False
    return default


def parse_say(meta: Any) -> EditorSay | None:
    """The editor's say from a post's ``meta`` object, or None when the plugin's keys are not in it."""
    if not isinstance(meta, dict) or SHARE not in meta:
        return None
    texts = {n: t for n in NETWORKS if (t := _text(meta.get(f"{TEXT}_{n}")))}
    return EditorSay(_flag(meta.get(SHARE), True), _text(meta.get(TEXT)), _flag(meta.get(BREAKING), False), texts)


def parse_post(data: Any) -> WordPressPost:
    """The parts of a ``/wp/v2/posts/<id>?_embed`` answer the bot uses."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise WordPressError("the answer is not a WordPress post")
    embedded = data.get("_embedded") or {}
    categories: list[str] = []
    tags: list[str] = []
    for group in embedded.get("wp:term") or []:
        for term in group if isinstance(group, list) else []:
            name = html_to_text(str(term.get("name") or ""))
            if not name:
                continue
            if term.get("taxonomy") == "category":
                categories.append(name)
            elif term.get("taxonomy") == "post_tag":
                tags.append(name)
    image = None
    for media in embedded.get("wp:featuredmedia") or []:
        if isinstance(media, dict) and str(media.get("source_url") or "").startswith(("http://", "https://")):
            image = str(media["source_url"])
            break
    excerpt = html_to_text(str((data.get("excerpt") or {}).get("rendered") or ""))
    return WordPressPost(data["id"], tuple(dict.fromkeys(categories)), tuple(dict.fromkeys(tags)), excerpt, image,
                         parse_say(data.get("meta")))


def _rest_urls(site_url: str, route: str, query: str) -> tuple[str, str]:
    """A REST route's two addresses, as WordPress answers them: pretty ``/wp-json/``, then ``?rest_route=`` (plain
    permalinks, where ``/wp-json/`` is the front page)."""
    base = site_url.rstrip("/")
    return f"{base}/wp-json{route}?{query}", f"{base}/?rest_route={route}&{query}"


def fetch_post(site_url: str, post_id: int, *, session: requests.Session, timeout: float,
               user_agent: str, auth: tuple[str, str] | None = None) -> WordPressPost:
    """Ask the site's REST API for one post (pretty ``/wp-json/`` first, then ``?rest_route=``); with ``auth``
    (a user and its application password) in the edit context, which shows the plugin's meta. A 401 or 403
    with credentials says so: the application password is wrong, or its user cannot edit the post."""
    query = "_embed&context=edit" if auth else "_embed"
    last = ""
    for url in _rest_urls(site_url, f"/wp/v2/posts/{post_id}", query):
        try:
            # requests drops the credentials on a redirect to another host or from https to http.
            with session.get(url, timeout=timeout, stream=True, auth=auth,
                             headers={"User-Agent": user_agent, "Accept": "application/json"}) as resp:
                if resp.status_code == 404:
                    last = f"{last}, then HTTP 404" if last else "HTTP 404"
                    continue
                kind = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if resp.status_code == 200 and "/wp-json/" in url and kind == "text/html":
                    # No pretty permalinks: /wp-json/ is the front page, and ?rest_route= answers.
                    last = "/wp-json/ is not JSON"
                    continue
                if resp.status_code in (401, 403) and auth:
                    raise PostNotThere(f"{url}: HTTP {resp.status_code}: WordPress refused site.wordpress_user "
                                         f"{auth[0]!r} (a wrong application password, or a user who cannot "
                                         "edit this post)")
                if resp.status_code != 200:
                    raise WordPressError(f"{url}: HTTP {resp.status_code}")
                body = resp.raw.read(MAX_ANSWER + 1, decode_content=True)
        except requests.RequestException as exc:
            raise WordPressError(f"{url}: {type(exc).__name__}") from exc
        if len(body) > MAX_ANSWER:
            raise WordPressError(f"{url}: the answer is over {MAX_ANSWER:,} bytes")
        try:
            return parse_post(json.loads(body))
        except ValueError as exc:
            raise WordPressError(f"{url}: not JSON") from exc
    raise (PostNotThere if last.endswith("HTTP 404") else WordPressError)(f"post {post_id}: {last}")


#: The REST API's error codes (with their HTTP status) that say for sure a post is not public: it was deleted
#: (or never was), or it is not published (a draft, private, trashed, scheduled: asked for without credentials).
NOT_THERE = {("rest_post_invalid_id", 404): "deleted", ("rest_forbidden", 401): "not public",
             ("rest_forbidden", 403): "not public"}
#: How many ids one request asks for at most (the REST API's ``per_page`` maximum).
MAX_IDS = 100


def _answer(session: requests.Session, urls: tuple[str, ...], timeout: float, user_agent: str,
            auth: tuple[str, str] | None) -> tuple[int, Any] | None:
    """The first REST answer that is JSON (its status and body), trying each URL in turn (``/wp-json/`` then
    ``?rest_route=``); None when none is (a timeout, a refused connection, HTML, a body too large)."""
    for url in urls:
        try:
            with session.get(url, timeout=timeout, stream=True, auth=auth,
                             headers={"User-Agent": user_agent, "Accept": "application/json"}) as resp:
                kind = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
                body = resp.raw.read(MAX_ANSWER + 1, decode_content=True)
                status = resp.status_code
        except requests.RequestException:
            return None
        if len(body) > MAX_ANSWER or "json" not in kind:
            continue
        try:
            return status, json.loads(body)
        except ValueError:
            continue
    return None


def published_ids(site_url: str, post_ids: list[int], *, session: requests.Session, timeout: float,
                  user_agent: str, auth: tuple[str, str] | None = None) -> set[int] | None:
    """Which of these posts (at most :data:`MAX_IDS`) the site shows as published, in one request; None when the
    answer says nothing for sure (not a 200 with a JSON list: the site is down, the REST API is off, an error).
    A post missing from it may be withdrawn: :func:`post_standing` tells."""
    ids = ",".join(str(i) for i in post_ids[:MAX_IDS])
    query = f"include={ids}&per_page={MAX_IDS}&_fields=id&status=publish"
    got = _answer(session, _rest_urls(site_url, "/wp/v2/posts", query), timeout, user_agent, auth)
    if got is None or got[0] != 200 or not isinstance(got[1], list):
        return None
    return {p["id"] for p in got[1] if isinstance(p, dict) and isinstance(p.get("id"), int)}


def post_standing(site_url: str, post_id: int, *, session: requests.Session, timeout: float,
                  user_agent: str, auth: tuple[str, str] | None = None) -> str | None:
    """Where one post stands on the site: ``publish``, another status (``draft``, ``private``, ``trash``,
    ``pending``, ``future``; as an editor, with ``auth``), ``deleted`` or ``not public`` (the REST API's own error
    codes, :data:`NOT_THERE`); None when the answer says nothing for sure (the site down, an error, credentials
    refused)."""
    query = "_fields=id,status" + ("&context=edit" if auth else "")
    got = _answer(session, _rest_urls(site_url, f"/wp/v2/posts/{post_id}", query), timeout, user_agent, auth)
    if got is None:
        return None
    status, data = got
    if status == 200 and isinstance(data, dict) and data.get("id") == post_id:
        standing = data.get("status")
        return standing if isinstance(standing, str) and standing.isidentifier() else None
    code = data.get("code") if isinstance(data, dict) else None
    if not isinstance(code, str) or (auth and status in (401, 403)):
        return None  # with credentials, a refusal is the credentials' (a wrong password), not the post's
    return NOT_THERE.get((code, status))
