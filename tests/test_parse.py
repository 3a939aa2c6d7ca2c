"""Parsing: WordPress feeds (the shared captures and our own samples) become the expected Articles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import FeedError
from bot.feeds import parse
from bot.models import Article

from .kit.captured import CAPTURED, CAPTURED_PAGE_2
from .kit.paths import WORDPRESS_FIXTURES, need_shared
from .kit.wordpress import LONG_TITLE, SAMPLE_ITEMS, SITE, Item, atom, rss2

RSS = "application/rss+xml; charset=UTF-8"

EDITED_92 = "عاجل | العراق والولايات المتحدة يتفقان على تشكيل لجنة عسكرية عليا لتقييم مهمة التحالف الدولي (محدث)"


def triples(articles: list[Article]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(a.guid, a.title, a.labels) for a in articles]


def no_markup(a: Article) -> None:
    for text in (a.title, a.summary, *a.labels):
        assert "&#" not in text and "&amp;" not in text and "<" not in text, text
        assert text == text.strip() and "  " not in text and "\n" not in text


@pytest.mark.parametrize(("name", "expected"), [
    ("rss2.xml", CAPTURED),
    ("atom.xml", CAPTURED),  # Atom's type="html" titles keep &#124; and &#8220; as text: they must be decoded
    ("rss2-paged-2.xml", CAPTURED_PAGE_2),
    ("rss2-after-edit.xml", [(g, EDITED_92 if g.endswith("?p=92") else t, lab) for g, t, lab in CAPTURED]),
])
def test_captured_wordpress_feeds(name: str, expected: list[tuple[str, str, tuple[str, ...]]]) -> None:
    body = need_shared(WORDPRESS_FIXTURES / name).read_bytes()
    feed = parse(body, feed_id="main", url="https://news.example/?feed=rss2", content_type=RSS)
    assert feed.skipped == [] and feed.bozo is None
    assert triples(feed.articles) == expected
    for a in feed.articles:
        no_markup(a)
        assert a.link.startswith("https://news.example/2026/11/")
        assert a.author == "admin"
        assert a.published is not None and a.published.date() == datetime(2026, 11, 29).date()
        assert a.published.tzinfo == UTC


def test_captured_feed_details() -> None:
    body = need_shared(WORDPRESS_FIXTURES / "rss2.xml").read_bytes()
    by_guid = {a.guid: a for a in parse(body, feed_id="main", url="https://news.example/?feed=rss2").articles}
    seed = by_guid["https://news.example/?p=96"]
    # The description's "Continue reading <title>" link is not part of the summary.
    assert seed.summary.endswith("مؤكدة أن الولايات…") and "Continue reading" not in seed.summary
    assert seed.published == datetime(2026, 11, 29, 5, 49, 38, tzinfo=UTC)
    # The photo post's real image is found; the 🔴 post's wp-smiley emoji image is not an article image.
    assert by_guid["https://news.example/?p=87"].image_urls == (
        "https://news.example/wp-content/uploads/2023/08/pentagon.jpg",)
    assert by_guid["https://news.example/?p=78"].image_urls == ()
    assert by_guid["https://news.example/?p=78"].title.startswith("🔴 ")


@pytest.mark.parametrize("render", [rss2, atom], ids=["rss2", "atom"])
def test_our_sample_feeds(render) -> None:  # type: ignore[no-untyped-def]
    feed = parse(render(SAMPLE_ITEMS).encode(), feed_id="demo", url=f"{SITE}/?feed=rss2", content_type=RSS)
    assert [a.guid for a in feed.articles] == [i.guid for i in SAMPLE_ITEMS]
    assert [a.title for a in feed.articles] == [i.title for i in SAMPLE_ITEMS]
    assert [a.labels for a in feed.articles] == [tuple(i.labels) for i in SAMPLE_ITEMS]
    for a in feed.articles:
        no_markup(a)
    titles = {a.guid: a for a in feed.articles}
    assert titles[f"{SITE}/?p=117"].title == LONG_TITLE
    assert titles[f"{SITE}/?p=108"].title.startswith("النفط & الطاقة")  # &#038; decoded
    assert titles[f"{SITE}/?p=110"].image_urls == (f"{SITE}/wp-content/uploads/2026/11/babylon.jpg",)
    assert titles[f"{SITE}/?p=114"].image_urls == ()
    pretty = next(i for i in SAMPLE_ITEMS if i.pretty_guid)
    assert pretty.guid in titles and pretty.guid == pretty.link


def test_double_encoded_entities_tags_and_white_space_are_cleaned() -> None:
    xml = rss2([Item(1, "x")]).replace(
        "<title>x</title>", "<title>&lt;b&gt;سترول:&lt;/b&gt;  &amp;#8220;نتمنى&amp;#8221;\n\t السلام</title>")
    [a] = parse(xml.encode(), feed_id="f", url=SITE, content_type=RSS).articles
    assert a.title == "سترول: “نتمنى” السلام"


def test_entries_without_guid_use_the_link_and_entries_without_any_address_are_skipped() -> None:
    xml = rss2([Item(1, "أ"), Item(2, "ب")])
    xml = xml.replace(f'<guid isPermaLink="false">{SITE}/?p=1</guid>', "")
    second = Item(2, "ب")
    xml = xml.replace(f"<link>{second.link}</link>", "").replace(f'<guid isPermaLink="false">{SITE}/?p=2</guid>', "")
    feed = parse(xml.encode(), feed_id="f", url=SITE, content_type=RSS)
    assert [a.guid for a in feed.articles] == [Item(1, "أ").link]
    assert len(feed.skipped) == 1 and "neither a guid nor a link" in feed.skipped[0]


def test_a_broken_feed_with_entries_is_used() -> None:
    xml = rss2([Item(2, "الأول"), Item(1, "الثاني")])
    truncated = xml[: xml.index("</item>") + len("</item>") + 20]  # cut inside the second item
    feed = parse(truncated.encode(), feed_id="f", url=SITE, content_type=RSS)
    assert [a.title for a in feed.articles][:1] == ["الأول"]
    assert feed.bozo is not None


@pytest.mark.parametrize(("body", "reason"), [
    (b"<html><body><p>not a feed</p></body></html>", "no RSS or Atom"),
    (b"<rss><channel><title>x", "not a valid feed"),
    (b"", "no RSS or Atom"),
])
def test_no_usable_feed_is_a_feed_error(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=reason):
        parse(body, feed_id="f", url=SITE, content_type="text/html")


def test_a_valid_feed_with_no_entries_is_fine() -> None:
    assert parse(rss2([]).encode(), feed_id="f", url=SITE, content_type=RSS).articles == []


def test_duplicate_guids_keep_the_first() -> None:
    xml = rss2([Item(5, "الأحدث"), Item(5, "نسخة قديمة")])
    feed = parse(xml.encode(), feed_id="f", url=SITE, content_type=RSS)
    assert [a.title for a in feed.articles] == ["الأحدث"] and "twice" in feed.skipped[0]


def test_an_entry_with_neither_title_nor_summary_is_skipped_with_the_reason() -> None:
    xml = rss2([Item(1, "عنوان"), Item(2, "x")]).replace("<title>x</title>", "<title></title>")
    xml = xml.replace("<description><![CDATA[x]]></description>", "<description></description>")
    xml = xml.replace("<content:encoded><![CDATA[<p>x</p>\n]]></content:encoded>", "")
    feed = parse(xml.encode(), feed_id="f", url=SITE, content_type=RSS)
    assert [a.title for a in feed.articles] == ["عنوان"] and "neither a title nor a summary" in feed.skipped[0]
