"""What counts as a correction of a headline (or of an editor's text), pure: a change of what it says, not of how
it is written. Entities, tags, white space, punctuation, tatweel, invisible marks (RLM, ZWJ …), Arabic
presentation forms and Arabic-Indic digits are left out of the comparison; letters, diacritics (a shadda can
change the meaning), digits' values and symbols such as a currency stay in it."""

from __future__ import annotations

import unicodedata

from bot.compose.text import clean_title

TATWEEL = "\u0640"


def gist(text: str) -> str:
    """What a headline says, for comparison only: cleaned as a post's text is (entities decoded, tags dropped),
    NFKC-normalized (presentation forms become letters), case-folded, digits as ASCII, and without white space,
    punctuation, tatweel and format characters."""
    kept: list[str] = []
    for ch in unicodedata.normalize("NFKC", clean_title(text)).casefold():
        category = unicodedata.category(ch)
        if ch == TATWEEL or category[0] in "PZ" or category in ("Cc", "Cf"):
            continue
        digit = unicodedata.digit(ch, None)
        kept.append(str(digit) if digit is not None and category == "Nd" else ch)
    return "".join(kept)


def is_correction(before: str | None, after: str | None) -> bool:
    """Whether ``after`` says something else than ``before`` (a text that is missing on either side is no
    correction: there is nothing to compare)."""
    if not before or not after:
        return False
    return gist(before) != gist(after)
