"""Text cleaning: HTML to plain text, entities decoded (even twice-encoded ones), white space collapsed."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

_ENTITY = re.compile(r"&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACE = re.compile(r"\s+")
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)
_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "figure", "figcaption", "tr", "table", "section", "article"})
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript"})


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, leaving out scripts and WordPress's "Continue reading" link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        skip = tag in _SKIP_TAGS or "more-link" in classes or "screen-reader-text" in classes
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")
        if tag in ("br", "img", "hr", "meta", "link", "input"):
            return  # void elements have no end tag
        self._stack.append((tag, skip))
        if skip:
            self._skip_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                for _, skipped in self._stack[i:]:
                    if skipped:
                        self._skip_depth -= 1
                del self._stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def decode_entities(text: str, rounds: int = 3) -> str:
    """Decode HTML entities, repeatedly, so ``&amp;#8220;`` becomes ``“``."""
    for _ in range(rounds):
        if not _ENTITY.search(text):
            break
        text = html.unescape(text)
    return text


def collapse_space(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


ZWNJ, ZWJ = "\u200c", "\u200d"
RLM = "\u200f"


def _is_presentation_form(ch: str) -> bool:
    return "\ufb50" <= ch <= "\ufdff" or "\ufe70" <= ch <= "\ufefe"


def _drop(ch: str) -> bool:
    """Invisible characters a post must not carry: bidi embeddings, overrides and isolates, marks, BOM,
    soft hyphens and other format characters, and control characters (but not ZWJ/ZWNJ, which shape
    Arabic and emoji, nor emoji tag characters)."""
    if ch in (ZWJ, ZWNJ, "\n"):
        return False
    category = unicodedata.category(ch)
    if category == "Cf":
        return not ("\U000e0020" <= ch <= "\U000e007f")  # tags inside flag emoji sequences stay
    return category == "Cc"


def clean_text(text: str) -> str:
    """Arabic presentation forms folded to plain letters (ﻋﺎﺟﻞ → عاجل), invisible format and control
    characters removed, white space collapsed, NFC."""
    if not text.isascii():
        text = "".join(
            unicodedata.normalize("NFKC", ch) if _is_presentation_form(ch) else ("" if _drop(ch) else ch)
            for ch in text
        )
    else:
        text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc" or ch in "\t\r")
    return unicodedata.normalize("NFC", collapse_space(text))


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (or of text with stray entities), cleaned, on one line."""
    if "<" in fragment or "&" in fragment:
        parser = _TextExtractor()
        parser.feed(fragment)
        parser.close()
        fragment = "".join(parser.parts)
    return clean_text(decode_entities(fragment))


def first_strong_direction(text: str) -> str | None:
    """"ltr" or "rtl" after the first letter with a strong direction (digits, emoji, punctuation are
    neutral), or None when there is none."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return None


def mark_direction(text: str, direction: str) -> str:
    """On a right-to-left site, a post that starts with a left-to-right word (``CENTCOM: …``) gets a
    RIGHT-TO-LEFT MARK in front, so clients lay it out right to left."""
    if direction == "rtl" and first_strong_direction(_LINK.sub("", text)) == "ltr":  # links are not words
        return RLM + text
    return text


def clean_title(title: str) -> str:
    """A headline as it should be posted: no tags, no entities, one line, NFC."""
    return html_to_text(title)
