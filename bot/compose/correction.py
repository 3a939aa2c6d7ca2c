"""What counts as a correction of a headline (or of an editor's text), pure: a change of what it says, not of how
it is written. Entities, tags, white space, punctuation, tatweel, invisible marks (RLM, ZWJ …), Arabic
presentation forms and Arabic-Indic digits are left out of the comparison; letters, diacritics (a shadda can
change the meaning), numbers' values (their decimal point, minus and percent sign too) and symbols such as a
currency stay in it."""

from __future__ import annotations

import unicodedata

from bot.compose.text import clean_title

TATWEEL = "\u0640"


#: Marks that are part of a number's value: a decimal point (Latin, Arabic, or the Arabic comma often typed for it)
#: between digits, a minus before one, the percent and per mille signs (Latin or Arabic), each kept in one spelling;
#: a thousands separator is not (1,500 = 1500).
DECIMAL, MINUS, PERCENT, MILLE = ".\u066b\u060c", "-\u2212\u2010\u2011", "%\u066a", "\u2030\u0609"


def gist(text: str) -> str:
    """What a headline says, for comparison only: cleaned as a post's text is (entities decoded, tags dropped),
    NFKC-normalized (presentation forms become letters), case-folded, digits as ASCII, and without white space,
    punctuation (but the marks of a number's value), tatweel and format characters."""
    chars = unicodedata.normalize("NFKC", clean_title(text)).casefold()
    kept: list[str] = []
    for i, ch in enumerate(chars):
        category = unicodedata.category(ch)
        before = chars[i - 1] if i else ""
        after = chars[i + 1] if i + 1 < len(chars) else ""
        if ch in DECIMAL and before.isdigit() and after.isdigit():
            kept.append(".")
        elif ch in MINUS and after.isdigit() and not before.isalnum():
            kept.append("-")
        elif ch in PERCENT:
            kept.append("%")
        elif ch in MILLE:
            kept.append("\u2030")
        elif ch == TATWEEL or category[0] in "PZ" or category in ("Cc", "Cf"):
            continue
        else:
            digit = unicodedata.digit(ch, None)
            kept.append(str(digit) if digit is not None and category == "Nd" else ch)
    return "".join(kept)


def is_correction(before: str | None, after: str | None) -> bool:
    """Whether ``after`` says something else than ``before`` (a text that is missing on either side is no
    correction: there is nothing to compare)."""
    if not before or not after:
        return False
    return gist(before) != gist(after)
