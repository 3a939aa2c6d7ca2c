"""Finding an article's image. (Fetching it, with limits, comes with the publishers that attach images.)"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

#: Images declared smaller than this (width or height, in pixels) are icons, not article images.
MIN_IMAGE_SIDE = 200


def _is_emoji_image(src: str, classes: list[str]) -> bool:
    host = urlsplit(src).hostname or ""
    return "wp-smiley" in classes or "emoji" in classes or host == "s.w.org" or host.endswith(".w.org")


def _declared_small(attrs: dict[str, str | None]) -> bool:
    for side in ("width", "height"):
        value = (attrs.get(side) or "").strip().removesuffix("px")
        if value.isdigit() and int(value) < MIN_IMAGE_SIDE:
            return True
    return False


class _ImageFinder(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        a = dict(attrs)
        src = (a.get("src") or a.get("data-src") or "").strip()
        if not src or src.startswith("data:"):
            return
        src = urljoin(self.base, src)
        if urlsplit(src).scheme not in ("http", "https"):
            return
        if _is_emoji_image(src, (a.get("class") or "").split()) or _declared_small(a):
            return
        self.found.append(src)


def images_in_html(fragment: str, base: str = "") -> list[str]:
    """Real images of an HTML fragment, in order: not WordPress's emoji images, not small icons."""
    if "<img" not in fragment.lower():
        return []
    finder = _ImageFinder(base)
    finder.feed(fragment)
    finder.close()
    return finder.found


def dedupe(urls: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u for u in urls if u))
