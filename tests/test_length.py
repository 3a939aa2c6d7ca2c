"""Length as each platform counts it; X's counter against twitter-text's own conformance suite."""

from __future__ import annotations

from typing import Any

import pytest

from bot.compose.length import (
    BLUESKY,
    DISCORD,
    FACEBOOK,
    INSTAGRAM,
    TELEGRAM_CAPTION,
    TELEGRAM_MESSAGE,
    X,
    count_graphemes,
    count_mastodon,
    count_utf16,
    count_x,
    instagram_rule,
    mastodon_rule,
    rule_of,
)

from .kit.conformance import CONFORMANCE, conformance_cases
from .kit.paths import need_shared

V3_SECTIONS = ("WeightedTweetsWithDiscountedEmojiCounterTest", "UnicodeDirectionalMarkerCounterTest")
LINK = ("https://news.example/2026/11/%d9%85%d8%a7%d8%b0%d8%a7-%d8%af%d8%a7%d8%b1-%d9%81%d9%8a-%d9%85%d8%ad"
        "%d8%b6%d8%b1/")


@pytest.mark.parametrize("case", conformance_cases(*V3_SECTIONS))
def test_x_counter_passes_twitter_text_v3_conformance(case: dict[str, Any] | None) -> None:
    need_shared(CONFORMANCE)
    assert case is not None
    assert count_x(case["text"]) == case["expected"]["weightedLength"]
    assert X.fits(case["text"]) == (case["expected"]["weightedLength"] <= 280) or not case["expected"]["valid"]


def test_x_counts_arabic_as_one_emoji_as_two_and_any_link_as_23() -> None:
    assert count_x("عاجل") == 4
    assert count_x("🔴") == 2
    assert count_x(f"عاجل {LINK.replace('news.example', 'qurays.iq')}") == 5 + 23
    # Like X itself, twitter-text only treats a link on a real top-level domain as a link: the reserved
    # .example domain of the fixtures counts in full, so fitting is conservative there, never over.
    assert count_x(f"عاجل {LINK}") == 5 + len(LINK)
    assert count_x("…") == 2  # U+2026 is outside X's weight-1 punctuation ranges
    assert count_x("ﻋﺎﺟﻞ") == 8  # presentation forms weigh 2: cleaning folds them to plain letters first


def test_mastodon_counts_graphemes_and_links_as_23() -> None:
    assert count_mastodon("🔴 مباشر") == 7
    assert count_mastodon("👨‍👩‍👧") == 1
    assert count_mastodon(f"خبر {LINK}") == 4 + 23
    assert mastodon_rule(500).fits("ب" * 500) and not mastodon_rule(500).fits("ب" * 501)
    assert mastodon_rule(1000).max_length == 1000


def test_bluesky_limits_graphemes_and_bytes() -> None:
    assert count_graphemes("رِياضة") == 5  # the kasra belongs to its letter
    assert BLUESKY.fits("ب" * 300) and not BLUESKY.fits("ب" * 301)
    heavy = "👨‍👩‍👧" * 200  # 200 graphemes but 3,600 bytes
    assert count_graphemes(heavy) == 200 and not BLUESKY.fits(heavy)


def test_telegram_counts_utf16_and_facebook_characters() -> None:
    assert count_utf16("🔴ب") == 3
    assert TELEGRAM_MESSAGE.max_length == 4096 and TELEGRAM_CAPTION.max_length == 1024
    assert TELEGRAM_CAPTION.fits("ب" * 1024) and not TELEGRAM_CAPTION.fits("🔴" * 513)
    assert FACEBOOK.max_length == 63_206


def test_discord_counts_code_points() -> None:
    """Discord's API counts code points (its staff, discord-api-docs#1315): an emoji is 1, a family emoji 5."""
    assert DISCORD.max_length == 2000 and rule_of("discord") is DISCORD
    assert DISCORD.fits("ب" * 2000) and not DISCORD.fits("ب" * 2001)
    assert DISCORD.count("🔴 عاجل") == 6 and DISCORD.count("👨‍👩‍👧") == 5


def test_instagram_counts_utf16_and_hashtags() -> None:
    """2,200 UTF-16 units (never less than code points: a caption that fits fits however Meta counts), and at most
    30 hashtags, those in the text and those added alike, each time one is written; an account may allow fewer."""
    assert rule_of("instagram") is INSTAGRAM and INSTAGRAM.max_length == 2200
    assert INSTAGRAM.fits("ب" * 2200) and not INSTAGRAM.fits("ب" * 2201)
    assert INSTAGRAM.count("🔴 عاجل") == 7 and not INSTAGRAM.fits("🔴" * 1101)
    tags = " ".join(f"#وسم{i}" for i in range(30))
    assert INSTAGRAM.fits(tags) and not INSTAGRAM.fits(tags + " #العراق")
    assert not INSTAGRAM.fits(" ".join(["#العراق"] * 31))  # the same tag written 31 times
    assert INSTAGRAM.fits(tags + " #2026 a#b")  # no letter, or inside a word: no hashtag
    five = instagram_rule(5)
    assert five.fits("#أ #ب #ت #ث #ج") and not five.fits("#أ #ب #ت #ث #ج #ح") and five.too_many_hashtags("#أ " * 6)
    assert instagram_rule(99).max_hashtags == 30
