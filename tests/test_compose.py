"""Composition, first cut: templates, and fitting a post without cutting the link or a word."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.compose import compose_post, fit
from bot.compose.fit import TRAILING_PUNCTUATION
from bot.compose.length import LengthRule, code_point_counter, count_with_fixed_urls
from bot.compose.template import render, template_problems
from bot.compose.text import clean_title, html_to_text
from bot.errors import ComposeError
from bot.models import Article

from .kit.wordpress import LONG_TITLE

LINK = "https://news.example/?p=96"
LONG_LINK = ("https://news.example/2026/11/%d9%85%d8%a7%d8%b0%d8%a7-%d8%af%d8%a7%d8%b1-%d9%81%d9%8a-%d9%85%d8%ad"
             "%d8%b6%d8%b1-%d8%a7%d9%84%d9%85%d8%a8%d8%a7%d8%ad%d8%ab%d8%a7%d8%aa/")
X_LIKE = LengthRule(280, code_point_counter(23))


def article(title: str, summary: str = "", link: str = LINK) -> Article:
    return Article(feed_id="main", guid=link, title=title, link=link, summary=summary)


def test_template_problems() -> None:
    assert template_problems("{title}\n\n{short_link}") == []
    assert template_problems("{title} {{literal}} {site_name}") == []
    assert template_problems("{POST_TITLE} {PERMALINK}") == []  # WP Twitter Auto Publish placeholders
    assert "unknown field {HEADLINE}" in template_problems("{HEADLINE}")[0]
    assert "no format" in template_problems("{title!r}")[0]
    assert template_problems("{title") and template_problems("   ")


def test_render_collapses_lines_left_empty() -> None:
    template = "{title}\n\n{excerpt}\n\n{link}\n— {site_name}"
    assert render(template, {"title": "عنوان", "excerpt": "", "link": LINK, "site_name": "قريش"}) == (
        f"عنوان\n\n{LINK}\n— قريش")
    assert render("{title} {{x}}", {"title": "أ"}) == "أ {x}"


def test_a_post_that_fits_is_left_alone() -> None:
    title = "سترول: “نتمنى أن لا يكون لإيران أي صوت أو تأثير على صانعي القرار في المنطقة”"
    assert compose_post(article(title), "{title}\n\n{short_link}", "قريش", X_LIKE) == f"{title}\n\n{LINK}"


def test_a_long_headline_is_cut_at_a_word_boundary_and_the_link_kept_whole() -> None:
    text = compose_post(article(LONG_TITLE, link=LONG_LINK), "{title}\n\n{link}", "قريش", X_LIKE)
    head, link = text.split("\n\n")
    assert link == LONG_LINK
    assert X_LIKE.count(text) <= 280
    assert head.endswith("…")
    kept = head[:-1]
    assert LONG_TITLE.startswith(kept) and LONG_TITLE[len(kept)] == " "  # cut between words
    assert X_LIKE.count(text.replace(head, LONG_TITLE)) > 280  # so it had to be cut
    # It keeps as many words as fit: one more word would not fit.
    next_word = LONG_TITLE[len(kept):].split()[0]
    assert X_LIKE.count(text.replace(head, f"{kept} {next_word}…")) > 280


def test_trailing_punctuation_goes_before_the_ellipsis() -> None:
    rule = LengthRule(40, code_point_counter(23))
    text = fit("{title} {link}", {"title": "الحوار، والتعاون: مستمر والمزيد من الكلام", "link": LINK}, rule)
    assert text.startswith("الحوار…") or text.startswith("الحوار، والتعاون…")
    assert "،…" not in text and ":…" not in text


def test_the_excerpt_gives_way_before_the_title() -> None:
    rule = LengthRule(120, code_point_counter(23))
    summary = "وقع الجانبان محضر اجتماع أكدوا فيه الالتزام الثنائي بالتعاون الأمني والدفاعي المستمر في جميع المجالات"
    title = "ماذا دار في محضر المباحثات العراقية في البنتاغون"
    text = compose_post(article(title, summary), "{title}\n{excerpt}\n{link}", "قريش", rule)
    assert text.startswith(title + "\n") and text.endswith(LINK)
    assert rule.count(text) <= 120 and "…" in text.split("\n")[1]
    # With even less room the excerpt goes entirely, and its line with it.
    small = LengthRule(75, code_point_counter(23))
    text = compose_post(article(title, summary), "{title}\n{excerpt}\n{link}", "قريش", small)
    assert text == f"{title}\n{LINK}"


def test_when_not_even_one_word_fits_it_says_why() -> None:
    with pytest.raises(ComposeError, match="cannot fit in 30 characters"):
        compose_post(article("عاجل العراق"), "{title} {link}", "قريش", LengthRule(30))


def test_url_counting() -> None:
    assert count_with_fixed_urls(f"أ {LONG_LINK} ب", 23) == 27
    assert count_with_fixed_urls("no links", 23) == 8
    assert LengthRule(None).fits("x" * 100_000)


def test_cleaning() -> None:
    assert clean_title("عاجل &#124; العراق") == "عاجل | العراق"
    assert clean_title("&amp;#8220;نص&amp;#8221;") == "“نص”"
    assert html_to_text('<p>نص</p><p>ثانٍ&#8230; <a class="more-link" href="#">Continue reading '
                        '<span class="screen-reader-text">عنوان</span></a></p>') == "نص ثانٍ…"
    assert html_to_text("<script>x()</script>كلام <b>مهم</b>") == "كلام مهم"
    assert clean_title("a < b") == "a < b"


words = st.text(alphabet=st.sampled_from(list("ابتثجحخدذرزسشصضطظعغفقكلمنهوي٠١٢٣abcXYZ0123456789🔴،:«»")),
                min_size=1, max_size=12)


@given(title_words=st.lists(words, min_size=1, max_size=80),
       limit=st.integers(min_value=40, max_value=400))
def test_property_fitted_posts_fit_keep_the_link_and_never_cut_a_word(title_words: list[str], limit: int) -> None:
    title = " ".join(title_words)
    rule = LengthRule(limit, code_point_counter(23))
    try:
        text = compose_post(article(title, link=LONG_LINK), "{title}\n\n{link}", "قريش", rule)
    except ComposeError:
        one_word = " ".join(title_words[:1]).rstrip(TRAILING_PUNCTUATION) or title_words[0]
        assert rule.count(f"{one_word}…\n\n{LONG_LINK}") > limit
        return
    assert rule.count(text) <= limit
    head, link = text.rsplit("\n\n", 1)
    assert link == LONG_LINK
    assert "&#" not in text and "<" not in text
    if head != title:
        assert head.endswith("…")
        kept = head.removesuffix("…")
        # what is kept is the first k whole words, with only trailing punctuation removed
        candidates = {(" ".join(title_words[:k]).rstrip(TRAILING_PUNCTUATION) or " ".join(title_words[:k]))
                      for k in range(1, len(title_words))}
        assert kept in candidates


def test_invisible_and_presentation_characters_are_cleaned() -> None:
    assert clean_title("ﻋﺎﺟﻞ: ﺍﻟﻌﺮﺍﻕ") == "عاجل: العراق"  # presentation forms weigh 2 on X and break search
    assert clean_title("\u202bمرحبا\u202c \u2066بالعالم\u2069\u200f") == "مرحبا بالعالم"
    assert clean_title("\ufeffنص\u00adمهم\x07") == "نصمهم"
    assert clean_title("👨\u200d👩\u200d👧 عائلة") == "👨\u200d👩\u200d👧 عائلة"  # ZWJ stays
    assert clean_title("مي\u200cخواهم") == "مي\u200cخواهم"  # ZWNJ stays (Persian)


def test_a_post_starting_with_a_latin_word_on_an_rtl_site_gets_a_right_to_left_mark() -> None:
    centcom = article("CENTCOM: توسيع مشاركة العراق في التمارين العسكرية المشتركة")
    text = compose_post(centcom, "{title}\n\n{link}", "قريش", X_LIKE, direction="rtl")
    assert text == "\u200f" + centcom.title + "\n\n" + LINK
    assert compose_post(centcom, "{title}", "قريش", X_LIKE, direction="ltr") == centcom.title
    arabic = article("🔴 مباشر: مؤتمر صحفي")  # the emoji is neutral; the first letter is Arabic
    assert compose_post(arabic, "{title}", "قريش", X_LIKE, direction="rtl") == arabic.title


def test_the_direction_mark_is_counted_when_fitting() -> None:
    rule = LengthRule(30)
    text = compose_post(article("CENTCOM says the drills will grow next year"), "{title}", "قريش", rule,
                        direction="rtl")
    assert text.startswith("\u200fCENTCOM") and len(text) <= 30 and text.endswith("…")


def test_hashtags_give_way_first_the_last_one_first() -> None:
    title = "ماذا دار في محضر المباحثات العراقية في البنتاغون"
    tags = ["#العراق", "#سياسة", "#البنتاغون"]
    template = "{title}\n\n{link}\n{hashtags}"
    full = compose_post(article(title), template, "قريش", X_LIKE, hashtags=tags)
    assert full.endswith("#العراق #سياسة #البنتاغون")
    room = X_LIKE.count(full) - len(" #البنتاغون")
    text = compose_post(article(title), template, "قريش", LengthRule(room, X_LIKE.count), hashtags=tags)
    assert text.endswith("\n#العراق #سياسة") and text.startswith(title)
    text = compose_post(article(title), template, "قريش", LengthRule(len(title) + 2 + 23, X_LIKE.count),
                        hashtags=tags)
    assert text == f"{title}\n\n{LINK}"  # every hashtag went before the title lost a word


def test_every_template_field() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot.compose import post_values
    from bot.compose.template import canonical

    a = Article(feed_id="main", guid="https://news.example/?p=96", title="عنوان", link=LONG_LINK,
                summary="ملخص من الخلاصة", author="admin", published=datetime(2026, 11, 29, 5, 49, tzinfo=UTC),
                labels=("العراق", "سياسة", "أوستن"), categories=("العراق", "سياسة"), excerpt="ملخص من الموقع")
    values = post_values(a, "قريش", short_link=LINK, tz=ZoneInfo("Asia/Baghdad"), date_format="%d/%m %H:%M")
    assert values == {
        "title": "عنوان", "link": LONG_LINK, "short_link": LINK, "excerpt": "ملخص من الموقع",
        "site_name": "قريش", "author": "admin", "date": "29/11 08:49", "categories": "العراق، سياسة", "id": "96",
    }
    plain = Article(feed_id="main", guid=LONG_LINK, title="ب", link=LONG_LINK, labels=("أ", "ب"))
    assert post_values(plain, "قريش")["categories"] == "أ، ب"  # from a plain feed: its labels
    assert post_values(plain, "قريش")["id"] == "" and post_values(plain, "قريش")["date"] == ""
    old = "{POST_TITLE} | {BLOG_TITLE}\n{POST_EXCERPT}\n{PERMALINK} {POST_ID} {POST_PUBLISH_DATE} {USER_NICENAME}"
    assert canonical(old) == "{title} | {site_name}\n{excerpt}\n{link} {id} {date} {author}"
    assert canonical("{{literal}} {title}") == "{{literal}} {title}"


def test_a_link_at_the_start_is_not_a_left_to_right_word() -> None:
    from bot.compose.text import mark_direction

    assert mark_direction("https://news.example/?p=1 عاجل", "rtl") == "https://news.example/?p=1 عاجل"
    assert mark_direction("https://news.example/?p=1 CENTCOM", "rtl").startswith("\u200f")


BREAKING = "🔴 عاجل | {title}\n{short_link}"


@pytest.mark.parametrize(("template", "title", "expected"), [
    (BREAKING, "عاجل | العراق والولايات المتحدة يتفقان على تشكيل لجنة عسكرية",
     "🔴 عاجل | العراق والولايات المتحدة يتفقان على تشكيل لجنة عسكرية\nhttps://news.example/?p=92"),
    (BREAKING, "عاجل: انقطاع التيار الكهربائي", "🔴 عاجل | انقطاع التيار الكهربائي\nhttps://news.example/?p=92"),
    ("🔴 {title}\n{short_link}", "🔴 مباشر: جلسة البرلمان لمناقشة الموازنة",
     "🔴 مباشر: جلسة البرلمان لمناقشة الموازنة\nhttps://news.example/?p=92"),
    (BREAKING, "صور: وصول الوفد العراقي", "🔴 عاجل | صور: وصول الوفد العراقي\nhttps://news.example/?p=92"),
    ("{title}\n{short_link}", "عاجل | خبر", "عاجل | خبر\nhttps://news.example/?p=92"),  # no label in the template
])
def test_a_label_the_template_already_carries_is_not_said_twice(template: str, title: str, expected: str) -> None:
    article = Article(feed_id="main", guid="https://news.example/?p=92", title=title, link="https://news.example/?p=92")
    assert compose_post(article, template, "قريش", LengthRule(280)) == expected


def test_an_excerpt_that_repeats_the_headline_is_not_said_twice() -> None:
    title = "وزير الخارجية: الحوار هو الطريق الوحيد لحل الأزمة"
    article = Article(feed_id="main", guid="https://news.example/?p=120", title=title,
                      link="https://news.example/?p=120",
                      summary=f"{title}. أكد وزير الخارجية في مؤتمر صحفي أن الحوار هو الطريق")
    text = compose_post(article, "{title}\n\n{excerpt}\n\n{short_link}", "قريش", LengthRule(500))
    assert text.count("الحوار هو الطريق الوحيد") == 1
    assert text == f"{title}\n\nأكد وزير الخارجية في مؤتمر صحفي أن الحوار هو الطريق\n\nhttps://news.example/?p=120"
    only = Article(feed_id="main", guid="g", title=title, link="https://news.example/?p=120", summary=title)
    assert compose_post(only, "{title}\n\n{excerpt}\n\n{short_link}", "قريش", LengthRule(500)) == \
        f"{title}\n\nhttps://news.example/?p=120"  # an excerpt that is only the headline: its line goes


def test_no_captured_wordpress_post_says_its_headline_twice() -> None:
    from bot.feeds import parse

    from .kit.paths import WORDPRESS_FIXTURES, need_shared

    body = need_shared(WORDPRESS_FIXTURES / "rss2.xml").read_bytes()
    articles = parse(body, feed_id="main", url="https://news.example/?feed=rss2").articles
    repeated = [a for a in articles if a.summary.startswith(a.title[:30])]
    assert len(repeated) >= 5  # the trap: WordPress's excerpt opens with the headline
    for a in articles:
        text = compose_post(a, "{title}\n\n{excerpt}\n\n{short_link}", "قريش", LengthRule(5000))
        assert text.count(a.title) == 1, text


@pytest.mark.parametrize(("template", "title"), [
    ("أخبار الرياضة | {title}", "الرياض: افتتاح المعرض الدولي"),  # الرياض is not الرياضة
    ("News 2024 | {title}", "20: twenty things to know"),
    ("🇵🇸 🇦🇪 {title}", "🇸🇦 السعودية تستضيف القمة"),  # another flag, not a repeat
    ("👩\u200d🚀 {title}", "👩 خبر عن رائدة الفضاء"),
])
def test_only_whole_words_and_whole_emoji_count_as_a_repeat(template: str, title: str) -> None:
    from bot.compose import without_repeats

    assert without_repeats(template, {"title": title, "excerpt": ""})["title"] == title


@pytest.mark.parametrize(("title", "excerpt"), [
    ("Egypt win", "Egypt wins the cup after extra time"),
    ("مصر تفوز", "مصر تفوزان بالكأس بعد الوقت الإضافي"),
    ("Man", "Manchester United wins the league"),
])
def test_an_excerpt_is_trimmed_only_by_whole_words_of_the_headline(title: str, excerpt: str) -> None:
    from bot.compose import without_repeats

    assert without_repeats("{title}\n{excerpt}", {"title": title, "excerpt": excerpt})["excerpt"] == excerpt
