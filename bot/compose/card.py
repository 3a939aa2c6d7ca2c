"""A headline card's layout, pure: the headline broken into lines at word boundaries and the largest font size
at which it fits the card's box in at most so many lines. Widths come from a ``measure(size)`` function (the
renderer's shaping engine measures a line as it will draw it), so this module knows no fonts and does no I/O.

Never a word cut: a line breaks only at a space; a word wider than the box at the smallest size stands on a
line of its own. A headline that does not fit even at the smallest size keeps the smallest size and its first
whole words, with ``…`` after the last one that fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import regex

ELLIPSIS = "…"
#: The most words a card's line could hold: a longer headline is laid out from its first words only.
WORDS_A_LINE = 16
#: A letter of a right-to-left script (Arabic, Hebrew, Syriac, Thaana, N'Ko…).
_RTL = regex.compile(r"[\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}]")
_STRONG = regex.compile(r"[\p{L}]")

Measure = Callable[[int], Callable[[str], float]]


@dataclass(frozen=True)
class Layout:
    """Where a headline goes on a card."""

    size: int  #: the font size chosen
    lines: tuple[str, ...]  #: the lines, first to last, each as written (the shaping engine orders it)
    cut: bool  #: whole words were left out (``…`` ends the last line)
    direction: str  #: rtl | ltr: the headline's own direction (its first strong letter's)


def direction(text: str) -> str:
    """``rtl`` when the text's first strong letter is of a right-to-left script, else ``ltr``."""
    first = _STRONG.search(text)
    return "rtl" if first is not None and _RTL.match(first.group(0)) else "ltr"


def break_lines(words: Sequence[str], width: float, length: Callable[[str], float]) -> list[str]:
    """Greedy: as many words on each line as fit ``width``; a word too wide for any line stands alone."""
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if not current or length(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def fit_headline(title: str, width: float, sizes: Sequence[int], max_lines: int, measure: Measure) -> Layout:
    """The largest of ``sizes`` at which ``title`` fits ``width`` in at most ``max_lines`` lines (each line no
    wider than ``width``; a single word may be, at the smallest size, when nothing else could hold it)."""
    words = title.split()
    way = direction(title)
    if not words:
        return Layout(sizes[-1] if sizes else 0, (), False, way)
    most = max_lines * WORDS_A_LINE
    truncated = len(words) > most
    if truncated:  # more than any card holds: only as many as could fit are laid out (bounded work)
        words = [*words[:most - 1], words[most - 1] + ELLIPSIS]
    for size in sorted(sizes, reverse=True):
        length = measure(size)
        lines = break_lines(words, width, length)
        if len(lines) <= max_lines and all(length(line) <= width or " " not in line for line in lines):
            return Layout(size, tuple(lines), truncated, way)
    size = min(sizes)
    length = measure(size)
    for keep in range(len(words) - 1, 0, -1):  # drop whole words from the end until the rest fits
        lines = break_lines([*words[:keep - 1], words[keep - 1] + ELLIPSIS], width, length)
        if len(lines) <= max_lines:
            return Layout(size, tuple(lines), True, way)
    return Layout(size, (words[0] + (ELLIPSIS if len(words) > 1 else ""),), len(words) > 1, way)
