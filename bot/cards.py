"""Headline cards: the headline drawn over the article's image (or the brand colour), as a PNG.

Arabic is shaped and ordered by a real shaping engine: Pillow's raqm layout (HarfBuzz for joining and
ligatures, FriBiDi for the order of Latin words and digits inside Arabic lines), which Pillow's PyPI wheels
include. :func:`check_shaping` says plainly when it is missing, and no card is drawn then: text is never
reshaped and reversed by hand on top of an engine that shapes. The layout itself (lines at word boundaries,
the size stepped down to fit) is the pure ``bot.compose.card``; diacritics and tatweel are drawn as written.

A card's bytes are cached on disk per headline, label, image and template (``cache_dir``), so a card is drawn
once however many accounts or retries use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, features

from bot.compose.card import Layout, fit_headline
from bot.config.cards import CardsConfig
from bot.errors import BotError

log = logging.getLogger("bot.cards")

#: The sizes tried for a headline, as a share of the card's height: the largest that fits is used.
SIZE_STEPS = (0.11, 0.095, 0.083, 0.072, 0.063, 0.055, 0.048)
#: Images larger than this (in pixels) are refused before they are decoded (a decompression bomb).
MAX_PIXELS = 40_000_000
#: … and larger than this once decoded (a JPEG at a reduced scale): a PNG this size takes 48 MB as RGB.
MAX_DECODED = 16_000_000
#: A photo longer than this to 1 (either way) is a strip, not a photo: not drawn behind a headline.
MAX_ASPECT = 8


class CardError(BotError):
    """A card cannot be drawn: no shaping engine, an unreadable font, logo or image."""


def check_shaping(has: Callable[[str], bool | None] = features.check) -> None:
    """Raise CardError, saying what to do, unless Pillow lays text out with raqm (shaping and bidi)."""
    if not has("raqm"):
        raise CardError("Pillow here has no raqm text layout (HarfBuzz and FriBiDi), so Arabic would come out "
                        "unjoined and in the wrong order: install Pillow's wheels from PyPI (they include it), "
                        "or libraqm for a Pillow built from source; no card is drawn without it")


def default_font() -> str:
    """The packaged Noto Kufi Arabic (fontpkg-noto-kufi-arabic; SIL Open Font License)."""
    import fontpkg_noto_kufi_arabic as noto

    return str(next(Path(noto.__file__).parent.joinpath("files").glob("*.ttf")))


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The font at ``size``, laid out with raqm; a variable font at its bold instance (a headline's weight)."""
    try:
        font = ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.RAQM)
    except OSError as exc:
        raise CardError(f"cannot read the card font {path}: {exc}") from exc
    try:
        if b"Bold" in font.get_variation_names():
            font.set_variation_by_name("Bold")
    except OSError:
        pass  # not a variable font: as it is
    return font


@dataclass(frozen=True)
class Card:
    """What a card shows."""

    title: str  #: the headline, as written
    label: str | None = None  #: a label; one of the template's ``breaking`` labels draws the band
    image: bytes | None = None  #: the article's image (any format Pillow reads), or none
    site: str = ""  #: the site's name (shown when the template says so)


def layout(card: Card, template: CardsConfig, width: int, height: int) -> Layout:
    """The headline's lines and size on a ``width``×``height`` card of ``template``."""
    font_path = template.font or default_font()
    box = width - 2 * template.margin
    sizes = [max(12, int(height * step)) for step in SIZE_STEPS]

    def measure(size: int) -> Callable[[str], float]:
        font = _font(font_path, size)
        return lambda line: float(font.getlength(line, direction=_dir(line), language=None))

    return fit_headline(card.title, box, sizes, template.max_lines, measure)


def card_format(card: Card, template: CardsConfig, fmt: str = "auto") -> str:
    """The file format of a card: ``png`` or ``jpeg``; ``auto`` is a JPEG over a photo (a tenth of the bytes,
    a thirtieth of the time of a PNG of one) and a PNG on the brand colour (crisp, and small)."""
    if fmt in ("png", "jpeg"):
        return fmt
    return "jpeg" if template.photo and card.image else "png"


def content_type(data: bytes) -> str:
    """A card's content type, by its bytes."""
    return "image/jpeg" if data.startswith(b"\xff\xd8") else "image/png"


def render(card: Card, template: CardsConfig, size: str = "landscape", fmt: str = "auto") -> bytes:
    """The card as PNG or JPEG bytes (:func:`card_format`; raises CardError)."""
    check_shaping()
    if size not in template.sizes:
        raise CardError(f"no card size {size!r}; sizes: {', '.join(template.sizes)}")
    width, height = template.sizes[size]
    font_path = template.font or default_font()
    canvas = Image.new("RGB", (width, height), template.background)
    photo = _photo(card.image, width, height) if template.photo and card.image else None
    if photo is not None:
        canvas.paste(photo)
        _darken(canvas)
    draw = ImageDraw.Draw(canvas)
    m = template.margin
    top = m
    breaking = card.label is not None and card.label in template.breaking
    if breaking and card.label:
        band_h = int(height * 0.12)
        draw.rectangle((0, 0, width, band_h), fill=template.band)
        band_font = _font(font_path, int(band_h * 0.55))
        draw.text((width - m, band_h // 2), card.label, font=band_font, fill=template.band_text, anchor="rm",
                  direction=_dir(card.label))
        top = band_h + m // 2
    placed = layout(card, template, width, height)
    font = _font(font_path, placed.size)
    line_h = int(placed.size * 1.45)
    footer = int(height * 0.1) + m // 2 if (template.site_name and card.site) or template.logo else 0
    block = line_h * len(placed.lines)
    y = max(top, height - m - footer - block)  # the headline sits low, over the darkened part of the photo
    rtl = placed.direction == "rtl"
    for line in placed.lines:
        x = width - m if rtl else m
        draw.text((x, y), line, font=font, fill=template.text, anchor="ra" if rtl else "la",
                  direction=_dir(line))
        y += line_h
    if template.site_name and card.site:
        small = _font(font_path, max(12, int(height * 0.04)))
        draw.text((width - m if rtl else m, height - m // 2), card.site, font=small, fill=template.text,
                  anchor="rd" if rtl else "ld", direction=_dir(card.site))
    if template.logo:
        _logo(canvas, template.logo, height, m, left=rtl)
    out = io.BytesIO()
    if card_format(card, template, fmt) == "jpeg":
        canvas.save(out, format="JPEG", quality=90, subsampling=0)  # 4:4:4: the letters' edges stay clean
    else:
        canvas.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _dir(text: str) -> str:
    from bot.compose.card import direction

    return direction(text)


def _photo(data: bytes, width: int, height: int) -> Image.Image | None:
    """The image cropped to cover the card; None when it cannot be used (the card goes on the brand colour):
    unreadable, over ``MAX_PIXELS``, or a strip longer than ``MAX_ASPECT`` to 1. A large JPEG is decoded at a
    reduced scale, and the crop is taken in the image's own coordinates before it is scaled, so the memory
    and time a card takes are bounded by the card, not by what a feed sends."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            if w < 1 or h < 1 or w * h > MAX_PIXELS or max(w / h, h / w) > MAX_ASPECT:
                return None
            if img.format == "JPEG":
                img.draft("RGB", (width, height))  # 1/2, 1/4 or 1/8 of it, still at least the card's size
            if img.size[0] * img.size[1] > MAX_DECODED:
                return None
            src = img if img.mode in ("RGB", "L") else img.convert("RGB")
            w, h = src.size
            scale = max(width / w, height / h)
            crop_w, crop_h = width / scale, height / scale
            left, top = (w - crop_w) / 2, (h - crop_h) / 2
            out = src.resize((width, height), Image.Resampling.BICUBIC, box=(left, top, left + crop_w, top + crop_h),
                             reducing_gap=2.0)
            return out if out.mode == "RGB" else out.convert("RGB")
    except Exception:  # whatever a hostile file makes Pillow raise (MemoryError too): no photo
        return None


def _darken(canvas: Image.Image) -> None:
    """A gradient from clear at the top to dark at the bottom, so the headline reads over any photo."""
    width, height = canvas.size
    mask = Image.linear_gradient("L").resize((width, height))  # 0 at the top, 255 at the bottom
    shade = Image.new("RGB", (width, height), (0, 0, 0))
    canvas.paste(shade, (0, 0), mask.point(lambda v: int(v * 0.8)))


def _logo(canvas: Image.Image, path: str, height: int, margin: int, *, left: bool) -> None:
    try:
        with Image.open(path) as img:
            logo = img.convert("RGBA")
    except OSError as exc:
        raise CardError(f"cannot read the card logo {path}: {exc}") from exc
    h = max(1, int(height * 0.08))
    logo = logo.resize((max(1, round(logo.width * h / logo.height)), h))
    x = margin if left else canvas.width - margin - logo.width
    canvas.paste(logo, (x, height - margin // 2 - h), logo)


#: Changes when the drawing changes: cards drawn by an older bot are not taken for today's.
DRAWING = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _file_stamp(path: str | None) -> list[object]:
    """A font's or logo's file as the cache key sees it (a new file at the same path is another card)."""
    if not path:
        return []
    try:
        st = os.stat(path)
    except OSError:
        return [path]
    return [path, st.st_size, st.st_mtime_ns]


def cache_path(card: Card, template: CardsConfig, size: str, cache_dir: Path, fmt: str = "auto") -> Path:
    """Where :func:`cached` keeps the card: a file named by everything the card shows."""
    kind = card_format(card, template, fmt)
    key = hashlib.sha256(json.dumps([DRAWING, card.title, card.label, card.site, size,
                                     template.model_dump(mode="json"), _file_stamp(template.font),
                                     _file_stamp(template.logo), hashlib.sha256(card.image or b"").hexdigest()],
                                    ensure_ascii=False).encode()).hexdigest()
    return cache_dir / f"{key}.{'jpg' if kind == 'jpeg' else 'png'}"


def _whole(data: bytes) -> bool:
    """Whether a file is a whole PNG or JPEG (not one cut short by a power cut)."""
    return (data.startswith(PNG_SIGNATURE) and data.endswith(b"IEND\xaeB`\x82")) or \
        (data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9"))


def cached(card: Card, template: CardsConfig, size: str, cache_dir: Path | None, fmt: str = "auto") -> bytes:
    """:func:`render`, through a cache of card files keyed by everything the card shows. A cached file that is
    not a whole PNG or JPEG (a power cut after its rename) is drawn again; a cache that cannot be written (a full
    disk, a read-only data_dir) still gives the card, logged."""
    if cache_dir is None:
        return render(card, template, size, fmt)
    path = cache_path(card, template, size, cache_dir, fmt)
    try:
        data = path.read_bytes()
        if _whole(data):
            os.utime(path)  # used now: the retention of cards counts from here
            return data
    except OSError:
        pass
    data = render(card, template, size, fmt)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)  # whole or not at all: a reader never sees half a card
    except OSError as exc:
        log.warning("the card could not be kept in %s (%s); it is used all the same", cache_dir, exc)
        with contextlib.suppress(OSError):
            tmp.unlink()
    return data


def prune(cache_dir: Path, kept: timedelta) -> int:
    """Delete the cards of ``cache_dir`` (and writes left half-done) not used for ``kept``; how many went. A file
    gone meanwhile, or not the bot's to delete, is left as it is."""
    if not cache_dir.is_dir():
        return 0
    oldest, gone = time.time() - kept.total_seconds(), 0
    for path in cache_dir.iterdir():
        try:
            if path.suffix in (".png", ".jpg", ".tmp") and path.stat().st_mtime < oldest:
                path.unlink()
                gone += 1
        except OSError:
            continue
    return gone


def describe(template: CardsConfig) -> dict[str, Any]:
    """What ``bot config check`` says of the cards."""
    return {"font": template.font or default_font(), "sizes": template.sizes, "breaking": template.breaking}
