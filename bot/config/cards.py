"""The ``cards:`` section: the brand template of headline cards (``bot.cards``)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from bot.config.values import _Model

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _colour(v: str) -> str:
    if not _HEX.match(v):
        raise ValueError(f"must be a colour as #rrggbb (not {v!r})")
    return v.lower()


Colour = Annotated[str, AfterValidator(_colour)]
#: A card's width or height, in pixels (platforms take 320 to 4096 or so; past that a card is only memory).
Side = Annotated[int, Field(ge=200, le=4096)]


class CardsConfig(_Model):
    """How headline cards look: sizes per use, background, colours, font, logo, and the breaking band."""

    #: Sizes per use, in pixels: landscape for X, Facebook and Telegram; portrait or square for Instagram.
    sizes: dict[str, tuple[Side, Side]] = Field(default_factory=lambda: {
        "landscape": (1200, 675), "portrait": (1080, 1350), "square": (1080, 1080)})
    #: The brand colour behind the headline (and the whole background when there is no photo).
    background: Colour = "#12263f"
    text: Colour = "#ffffff"
    #: The band of a breaking label, and its text.
    band: Colour = "#c8102e"
    band_text: Colour = "#ffffff"
    #: Labels (categories or tags) drawn as a band across the top: breaking news.
    breaking: list[str] = Field(default_factory=lambda: ["عاجل"])
    #: The article's image behind the headline, cropped to cover, darkened towards the text; false: the brand
    #: colour only.
    photo: bool = True
    #: A TrueType/OpenType font file; default: Noto Kufi Arabic (packaged, SIL Open Font License).
    font: str | None = None
    #: A PNG logo drawn in the bottom corner (its height at most a tenth of the card's).
    logo: str | None = None
    #: The site's name in the bottom corner.
    site_name: bool = True
    max_lines: int = Field(default=4, ge=1, le=8)
    margin: int = Field(default=64, ge=0, le=400)
