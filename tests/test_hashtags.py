"""Hashtags: Arabic-safe, and every one X recognises whole (checked against twitter-text's own cases)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.compose.hashtags import hashtag, hashtags_in, is_x_hashtag, make_hashtags

from .kit.captured import CAPTURED, CAPTURED_PAGE_2
from .kit.conformance import CONFORMANCE, conformance_cases
from .kit.paths import need_shared


@pytest.mark.parametrize("case", conformance_cases("hashtags", section_in_id=False))
def test_our_hashtag_rule_agrees_with_twitter_text(case: dict[str, Any] | None) -> None:
    need_shared(CONFORMANCE)
    assert case is not None
    assert is_x_hashtag(case["text"]) == case["expected"]


@pytest.mark.parametrize(("name", "tag"), [
    ("العراق", "#العراق"),
    ("الشرق الأوسط", "#الشرق_الأوسط"),  # spaces → _
    ("اقتـصاد", "#اقتصاد"),  # tatweel dropped
    ("رِياضة", "#رياضة"),  # diacritics dropped
    ("«لجنة عسكرية عليا»", "#لجنة_عسكرية_عليا"),  # guillemets dropped
    ("كأس-آسيا", "#كأس_آسيا"),  # hyphen → _
    ("هل تنتهي؟", "#هل_تنتهي"),
    ("شؤون، دولية؛", "#شؤون_دولية"),
    ("COVID-19", "#COVID_19"),
    ("#سياسة", "#سياسة"),  # an existing # is not doubled
    ("٢٠٢٦ عام", "#٢٠٢٦_عام"),
    ("2026", None),  # digits only: X would not link it
    ("؟!", None),
    ("", None),
])
def test_arabic_names_become_hashtags(name: str, tag: str | None) -> None:
    assert hashtag(name) == tag
    if tag:
        assert is_x_hashtag(tag)


def test_every_captured_label_gives_a_whole_hashtag() -> None:
    for _guid, _title, labels in CAPTURED + CAPTURED_PAGE_2:
        for label in labels:
            tag = hashtag(label)
            assert tag is not None and is_x_hashtag(tag), label
            assert hashtags_in(f"خبر {tag} آخر") == {tag[1:].casefold()}  # found whole inside a post


def test_make_hashtags_order_limits_and_rules() -> None:
    labels = ["العراق", "سياسة", "أوستن", "إيران", "البنتاغون"]
    assert make_hashtags(labels, limit=3) == ["#العراق", "#سياسة", "#أوستن"]
    assert make_hashtags(labels, limit=2, always=["قريش"]) == ["#قريش", "#العراق"]
    assert make_hashtags(labels, exclude=["سِياسة", "أوستن"], limit=3) == ["#العراق", "#إيران", "#البنتاغون"]
    assert make_hashtags(["البنتاغون"], mapping={"البنتاغون": "Pentagon"}) == ["#Pentagon"]
    assert make_hashtags(["العراق", "العراق", "اقتـصاد", "اقتصاد"]) == ["#العراق", "#اقتصاد"]
    # A title that already has #العراق gets no second one.
    title = "#العراق: اختتام أعمال حوار التعاون الأمني المشترك في واشنطن"
    assert make_hashtags(["العراق", "سياسة"], text=title) == ["#سياسة"]
    assert make_hashtags(["2026", "؟"]) == []


@given(st.text(max_size=40))
def test_property_any_name_gives_a_valid_hashtag_or_none(name: str) -> None:
    tag = hashtag(name)
    assert tag is None or (is_x_hashtag(tag) and " " not in tag and tag.count("#") == 1)


def test_keywords_in_the_title_become_hashtags_once() -> None:
    from bot.compose.hashtags import tag_keywords

    assert tag_keywords("العراق يوقع اتفاقاً مع العراق", ["العراق"]) == "#العراق يوقع اتفاقاً مع العراق"
    assert tag_keywords("والعراق يوقع", ["العراق"]) == "والعراق يوقع"  # not inside a longer word
    assert tag_keywords("قمة الشرق الأوسط في بغداد", ["الشرق الأوسط", "بغداد"]) == "قمة #الشرق_الأوسط في #بغداد"
    assert tag_keywords("#العراق: اختتام أعمال الحوار", ["العراق"]) == "#العراق: اختتام أعمال الحوار"
    assert tag_keywords("CENTCOM says", ["centcom"]) == "#CENTCOM says"  # the title's own spelling
    title = tag_keywords("العراق يوقع", ["العراق"])
    assert make_hashtags(["العراق", "سياسة"], text=title) == ["#سياسة"]  # not repeated at the end
