"""How long a post is, the way each platform counts it.

| platform  | counts                                                        | limit                     |
| --------- | ------------------------------------------------------------- | ------------------------- |
| X         | twitter-text v3 weighted length: most scripts 1, CJK and emoji | 280                       |
|           | 2, any URL 23, after NFC                                       |                           |
| Mastodon  | grapheme clusters, each URL with a scheme 23                   | 500 (per instance)        |
| Bluesky   | grapheme clusters, links as displayed; and UTF-8 bytes         | 300 graphemes, 3000 bytes |
| Telegram  | UTF-16 code units (how the Bot API counts "characters")        | 4096; a photo caption 1024 |
| Facebook  | characters                                                     | 63,206                    |
| Discord   | Unicode code points (its API is Python and says so: discord-   | 2000; an embed's title    |
|           | api-docs#1315); a link counts as written                       | 256, its description 4096 |
| Instagram | UTF-16 code units (Meta does not say how it counts: UTF-16 is  | 2200; and at most 30      |
|           | never less than code points, so a caption that fits it fits    | hashtags (fewer where the |
|           | either way; Arabic letters count 1 both ways, an emoji 2)      | account says, ``max_hashtags``) |
| Threads   | UTF-8 bytes: Meta says "emojis are counted as the number of     | 500; at most 5 unique     |
|           | UTF-8 bytes", and a text of 498 code points with three curly   | links                     |
|           | quotes (504 bytes) is refused too (postiz-app#1946): an Arabic |                           |
|           | letter counts 2, a link as written                             |                           |

A rule may also limit the hashtags in a text (``max_hashtags``: every ``#tag`` as :func:`bot.compose.hashtags.
count_hashtags` finds them, those the headline or template has and those the account adds alike), and the
different links in it (``max_links``); fitting then drops the account's hashtags first, as it does for length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import regex

from bot.compose.hashtags import count_hashtags

#: A link as platforms that shorten links find it in a text.
URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
#: A link as a platform that counts links finds it: with a scheme, or a bare ``www.`` address.
LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)
_GRAPHEME = regex.compile(r"\X")


def count_code_points(text: str) -> int:
    return len(text)


def count_graphemes(text: str) -> int:
    """User-perceived characters: 🔴 is one, a family emoji is one, a letter with its diacritics is one."""
    return len(_GRAPHEME.findall(text))


def count_utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _with_fixed_urls(text: str, url_length: int, count: Callable[[str], int]) -> int:
    total, end = 0, 0
    for m in URL.finditer(text):
        total += count(text[end:m.start()]) + url_length
        end = m.end()
    return total + count(text[end:])


def count_with_fixed_urls(text: str, url_length: int) -> int:
    """Code points, with every link counted as ``url_length``."""
    return _with_fixed_urls(text, url_length, len)


def code_point_counter(url_length: int | None) -> Callable[[str], int]:
    return count_code_points if url_length is None else partial(count_with_fixed_urls, url_length=url_length)


def count_x(text: str) -> int:
    """X's weighted length (twitter-text v3, with discounted emoji)."""
    return int(_parse_tweet()(text).weightedLength)


@cache
def _parse_tweet() -> Callable[[str], Any]:
    """twitter-text-parser's parse_tweet. The package reads one data file with setuptools' pkg_resources,
    which costs the daemon about 10 MB of memory (a sixth of it) and 0.1 s to import; unless something has
    imported pkg_resources already, it is given a stand-in with just that function while it loads."""
    import sys

    if "pkg_resources" in sys.modules or "twitter_text" in sys.modules:
        from twitter_text import parse_tweet

        return parse_tweet  # type: ignore[no-any-return]
    import importlib.resources
    import types

    stand_in = types.ModuleType("pkg_resources")
    stand_in.resource_string = lambda module, name: (  # type: ignore[attr-defined]
        importlib.resources.files(sys.modules[module].__package__ or module).joinpath(name).read_bytes())
    sys.modules["pkg_resources"] = stand_in
    try:
        from twitter_text import parse_tweet
    finally:
        if sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return parse_tweet  # type: ignore[no-any-return]


def count_utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def unique_links(text: str) -> set[str]:
    """The different links in a text (a trailing full stop or comma is not part of one)."""
    return {m.group(0).rstrip(".,;:!?،؛)»") for m in LINK.finditer(text)}


def count_mastodon(text: str) -> int:
    """Mastodon: grapheme clusters, each URL with a scheme counted as 23."""
    return _with_fixed_urls(text, 23, count_graphemes)


@dataclass(frozen=True)
class LengthRule:
    """A platform's length limit: ``count(text) <= max_length`` (no limit when max_length is None), at most
    ``max_bytes`` UTF-8 bytes where the platform also limits bytes, at most ``max_hashtags`` hashtags and
    ``max_links`` different links where it limits those."""

    max_length: int | None
    count: Callable[[str], int] = count_code_points
    name: str = "characters"
    max_bytes: int | None = None
    max_hashtags: int | None = None
    max_links: int | None = None

    def fits(self, text: str) -> bool:
        if self.max_bytes is not None and len(text.encode("utf-8")) > self.max_bytes:
            return False
        if self.max_hashtags is not None and count_hashtags(text) > self.max_hashtags:
            return False
        if self.max_links is not None and len(unique_links(text)) > self.max_links:
            return False
        return self.max_length is None or self.count(text) <= self.max_length

    def too_many_hashtags(self, text: str) -> bool:
        """Whether ``text`` has more hashtags than the platform takes."""
        return self.max_hashtags is not None and count_hashtags(text) > self.max_hashtags


X = LengthRule(280, count_x, "weighted characters (X)")
BLUESKY = LengthRule(300, count_graphemes, "graphemes (Bluesky)", max_bytes=3000)
TELEGRAM_MESSAGE = LengthRule(4096, count_utf16, "characters (Telegram message)")
TELEGRAM_CAPTION = LengthRule(1024, count_utf16, "characters (Telegram photo caption)")
FACEBOOK = LengthRule(63_206, count_code_points, "characters (Facebook)")
DISCORD = LengthRule(2000, count_code_points, "characters (Discord)")
DISCORD_EMBED_TITLE, DISCORD_EMBED_DESCRIPTION = 256, 4096  #: code points, as the message's content
#: Instagram's caption: 2,200 characters and at most 30 hashtags, as its content publishing API documents.
INSTAGRAM_CAPTION, INSTAGRAM_HASHTAGS = 2200, 30
INSTAGRAM = LengthRule(INSTAGRAM_CAPTION, count_utf16, "characters (Instagram caption)",
                       max_hashtags=INSTAGRAM_HASHTAGS)


def instagram_rule(max_hashtags: int = INSTAGRAM_HASHTAGS) -> LengthRule:
    """Instagram's caption rule with the account's own hashtag limit (never more than Instagram's 30)."""
    return LengthRule(INSTAGRAM_CAPTION, count_utf16, "characters (Instagram caption)",
                      max_hashtags=min(max_hashtags, INSTAGRAM_HASHTAGS))


THREADS = LengthRule(500, count_utf8, "UTF-8 bytes (Threads)", max_links=5)


def mastodon_rule(max_length: int = 500) -> LengthRule:
    return LengthRule(max_length, count_mastodon, "characters (Mastodon)")


def rule_of(platform: str, max_length: int | None = None) -> LengthRule:
    """The length rule of a platform by name (``max_length`` overrides Mastodon's per-instance limit)."""
    rules = {"x": X, "bluesky": BLUESKY, "telegram": TELEGRAM_MESSAGE, "telegram_caption": TELEGRAM_CAPTION,
             "facebook": FACEBOOK, "discord": DISCORD, "instagram": INSTAGRAM,
             "threads": THREADS}
    if platform == "mastodon":
        return mastodon_rule(max_length or 500)
    return rules[platform]
