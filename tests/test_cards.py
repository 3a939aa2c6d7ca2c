"""Headline cards: Arabic shaped and ordered by the real engine (raqm), never reshaped by hand; lines broken
at words, the size stepped down to fit, no word ever cut; right-aligned; Latin digits in their place inside an
Arabic line; the breaking band; the photo cropped to cover; the cache; ``bot card``; and a plain error where
the engine is missing."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from bot.cards import Card, CardError, cached, check_shaping, default_font, layout, render
from bot.compose.card import ELLIPSIS, direction, fit_headline
from bot.config.cards import CardsConfig

from .kit.configs import write_config
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS

TEMPLATE = CardsConfig()
LONG = ("عاجل | الحكومة تعلن خطة طوارئ للكهرباء بعد انقطاع استمر 12 ساعة في بغداد والبصرة مع وصول شحنات وقود "
        "جديدة من الكويت والسعودية خلال أيام")


def _png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.convert("RGB")


def test_the_shaping_engine_is_there_and_its_absence_is_said_plainly() -> None:
    check_shaping()  # Pillow's wheels carry raqm: the project's own dependency must have it
    with pytest.raises(CardError, match="raqm"):
        check_shaping(lambda feature: False)


def test_arabic_is_joined_by_the_engine_not_drawn_letter_by_letter() -> None:
    font_path = default_font()
    shaped = ImageFont.truetype(font_path, 60, layout_engine=ImageFont.Layout.RAQM)
    plain = ImageFont.truetype(font_path, 60, layout_engine=ImageFont.Layout.BASIC)
    word = "بغداد"
    # Joined, the word's letters take their initial/medial/final forms: not the isolated letters side by side.
    assert shaped.getlength(word, direction="rtl") != pytest.approx(sum(plain.getlength(c) for c in word), abs=1)
    # And lam-alef is one ligature, narrower than its two letters apart.
    assert shaped.getlength("لا", direction="rtl") < shaped.getlength("ل", direction="rtl") + \
        shaped.getlength("ا", direction="rtl")


def _ink_box(img: Image.Image, background: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    diff = ImageChops.difference(img, Image.new("RGB", img.size, background)).convert("L").point(
        lambda v: 255 if v > 60 else 0)
    return diff.getbbox()


def test_latin_digits_keep_their_place_inside_an_arabic_line() -> None:
    """"بغداد 2026" drawn right to left: the Arabic word at the right edge, the year to its left, its digits in
    their own left-to-right order (never "6202")."""
    font = ImageFont.truetype(default_font(), 60, layout_engine=ImageFont.Layout.RAQM)

    def drawn(text: str, x: float, anchor: str, way: str | None) -> Image.Image:
        img = Image.new("L", (800, 120), 0)
        ImageDraw.Draw(img).text((x, 20), text, font=font, fill=255, anchor=anchor, direction=way)
        return img

    line = drawn("بغداد 2026", 780, "ra", "rtl")
    alone = drawn("بغداد", 780, "ra", "rtl")
    line_box, word_box = line.getbbox(), alone.getbbox()
    assert line_box and word_box
    assert abs(line_box[2] - word_box[2]) <= 2  # the Arabic word ends the line at the right
    assert line_box[0] < word_box[0] - 60  # and the year stands to its left
    left = line.crop((0, 0, word_box[0] - 5, 120))
    box = left.getbbox()
    assert box

    def mismatch(digits: str) -> int:
        candidate = drawn(digits, 100, "la", "ltr")
        c_box = candidate.getbbox()
        assert c_box
        ours = left.crop(box).resize((c_box[2] - c_box[0], c_box[3] - c_box[1]))  # ink to ink
        theirs = candidate.crop(c_box)
        return int(sum(ImageChops.difference(ours, theirs).histogram()[v] * v for v in range(256)))

    assert mismatch("2026") < mismatch("6202") / 3


def test_lines_break_at_words_and_the_size_steps_down_never_cutting_a_word() -> None:
    widths = {"landscape": 1200 - 2 * TEMPLATE.margin}
    titles = [i.title for i in SAMPLE_ITEMS] + [LONG, "وزير", "عاجل | " + "كلمة " * 80]
    for title in titles:
        placed = layout(Card(title), TEMPLATE, 1200, 675)
        assert 1 <= len(placed.lines) <= TEMPLATE.max_lines, title
        words = title.split()
        shown = " ".join(placed.lines).removesuffix(ELLIPSIS).split()
        assert shown == words[:len(shown)], title  # whole words, in order, none cut
        assert placed.cut == (len(shown) < len(words))
        font = ImageFont.truetype(default_font(), placed.size, layout_engine=ImageFont.Layout.RAQM)
        for line in placed.lines:
            assert font.getlength(line, direction="rtl") <= widths["landscape"] + 1 or " " not in line
    short = layout(Card("وزير"), TEMPLATE, 1200, 675)
    long = layout(Card(LONG), TEMPLATE, 1200, 675)
    assert short.size > long.size  # stepped down for the long one
    assert direction(LONG) == "rtl" and direction("Baghdad summit: عاجل") == "ltr"


def test_a_headline_of_thousands_of_words_is_laid_out_quickly_and_cut_at_a_word() -> None:
    started = time.perf_counter()
    placed = layout(Card("كلمة " * 5000), TEMPLATE, 1200, 675)
    assert time.perf_counter() - started < 10 and placed.cut and placed.lines[-1].endswith(ELLIPSIS)


def test_the_layout_is_pure_and_keeps_diacritics_and_tatweel_as_written() -> None:
    title = "مُحَمَّدٌ يَـــكتُبُ"
    placed = fit_headline(title, 10_000, [40, 30], 2, lambda size: lambda line: len(line) * size * 0.5)
    assert placed.lines == (title,) and placed.size == 40
    narrow = fit_headline("ألف باء تاء ثاء", 100, [40, 20], 2, lambda size: lambda line: len(line) * size * 0.5)
    assert narrow.size == 20 and " ".join(narrow.lines) == "ألف باء تاء ثاء"


def test_a_card_is_right_aligned_with_its_breaking_band_and_photo() -> None:
    photo = Image.new("RGB", (1600, 900), (30, 90, 160))
    buf = io.BytesIO()
    photo.save(buf, "JPEG")
    card = _png(render(Card(LONG, "عاجل", buf.getvalue(), "قريش"), TEMPLATE))
    assert card.size == (1200, 675)
    band = card.getpixel((5, 5))  # over a photo the card is a JPEG: its colours within a step or two
    assert all(abs(a - b) <= 4 for a, b in zip(band, (200, 16, 46), strict=True))  # the band's, across the top
    plain = _png(render(Card(LONG, "منوعات", None, "قريش"), TEMPLATE))
    assert plain.getpixel((5, 5)) == (18, 38, 63)  # not a breaking label: the brand colour, no band
    top = card.getpixel((600, 120))
    assert top[2] > top[0]  # the photo shows (blue), darkened towards the bottom
    assert sum(card.getpixel((600, 670))) < sum(top)
    text = _ink_box(plain.crop((0, 0, 1200, 600)), (18, 38, 63))
    assert text is not None and abs(text[2] - (1200 - TEMPLATE.margin)) <= 4  # right-aligned at the margin
    portrait = _png(render(Card(LONG), TEMPLATE, "portrait"))
    assert portrait.size == (1080, 1350)
    with pytest.raises(CardError, match="no card size"):
        render(Card(LONG), TEMPLATE, "billboard")


def test_an_image_that_cannot_be_read_leaves_the_brand_colour() -> None:
    card = _png(render(Card("خبر", None, b"not an image at all", "قريش"), TEMPLATE))
    assert card.getpixel((600, 20)) == (18, 38, 63)


def test_cards_are_cached_per_headline_label_image_and_template(tmp_path: Path) -> None:
    first = cached(Card(LONG, "عاجل"), TEMPLATE, "landscape", tmp_path)
    files = list(tmp_path.glob("*.png"))
    assert len(files) == 1 and files[0].read_bytes() == first
    started = time.perf_counter()
    assert cached(Card(LONG, "عاجل"), TEMPLATE, "landscape", tmp_path) == first
    assert time.perf_counter() - started < 1  # read back, not drawn again
    cached(Card(LONG, None), TEMPLATE, "landscape", tmp_path)
    cached(Card(LONG, "عاجل"), CardsConfig(band="#000000"), "landscape", tmp_path)
    assert len(list(tmp_path.glob("*.png"))) == 3


def test_bot_card_draws_from_a_title_or_an_article_page(tmp_path: Path, feed_server: FeedServer,
                                                        run_bot: object) -> None:
    photo = Image.new("RGB", (800, 600), (10, 150, 60))
    buf = io.BytesIO()
    photo.save(buf, "PNG")
    feed_server.set("/photo.png", buf.getvalue(), content_type="image/png", conditional=False)
    feed_server.set("/article", (
        '<html><head><meta property="og:title" content="منتخب العراق يتأهل إلى نهائي كأس الخليج">'
        f'<meta property="og:image" content="{feed_server.url("/photo.png")}"></head><body></body></html>'),
        content_type="text/html; charset=utf-8", conditional=False)
    config = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed")}],
                          site={"name": "قريش", "url": feed_server.base, "timezone": "Asia/Baghdad"},
                          accounts=[{"id": "tall", "platform": "console", "image": "card", "card_size": "portrait"}])
    out = tmp_path / "card.png"
    done = run_bot("card", "--config", str(config), "--url", feed_server.url("/article"), "--output", str(out))  # type: ignore[operator]
    assert done.code == 0, done.out
    card = _png(out.read_bytes())
    assert card.size == (1200, 675) and card.getpixel((600, 60))[1] > 100  # the page's green photo
    done = run_bot("card", "--config", str(config), "--title", "عاجل | خبر", "--label", "عاجل",  # type: ignore[operator]
                   "--size", "square", "--output", str(out))
    assert done.code == 0 and _png(out.read_bytes()).size == (1080, 1080)
    done = run_bot("card", "--config", str(config), "--title", "خبر", "--account", "tall",  # type: ignore[operator]
                   "--output", str(out))
    assert done.code == 0 and _png(out.read_bytes()).size == (1080, 1350)  # as that account's posts carry it
    assert run_bot("card", "--config", str(config), "--title", "خبر", "--account", "nobody",  # type: ignore[operator]
                   "--output", str(out)).code == 2
    assert run_bot("card", "--config", str(config), "--output", str(out)).code == 2  # type: ignore[operator]
    bad = run_bot("card", "--config", str(config), "--title", "خبر", "--image", str(tmp_path / "none.png"),  # type: ignore[operator]
                  "--output", str(out))
    assert bad.code == 2
