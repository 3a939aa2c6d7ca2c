"""How long a post is, the way a platform counts it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

#: A link as platforms that shorten links find it in a text.
URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)


def count_code_points(text: str) -> int:
    return len(text)


def count_with_fixed_urls(text: str, url_length: int) -> int:
    """Code points, with every link counted as ``url_length`` (X and Mastodon count a link as 23)."""
    total, end = 0, 0
    for m in URL.finditer(text):
        total += (m.start() - end) + url_length
        end = m.end()
    return total + len(text) - end


def code_point_counter(url_length: int | None) -> Callable[[str], int]:
    return count_code_points if url_length is None else partial(count_with_fixed_urls, url_length=url_length)


@dataclass(frozen=True)
class LengthRule:
    """A platform's length limit: ``count(text) <= max_length`` (no limit when max_length is None)."""

    max_length: int | None
    count: Callable[[str], int] = count_code_points
    name: str = "characters"

    def fits(self, text: str) -> bool:
        return self.max_length is None or self.count(text) <= self.max_length
