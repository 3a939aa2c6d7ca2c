"""Every headline we have × every platform: the post fits as that platform counts, keeps its link whole,
never cuts inside a word, and carries no markup; then the same over generated headlines (hypothesis)."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.compose import compose_post
from bot.compose.fit import ELLIPSIS, TRAILING_PUNCTUATION
from bot.compose.hashtags import hashtags_in, make_hashtags
from bot.compose.ids import wordpress_short_link
from bot.compose.length import LengthRule, rule_of
from bot.compose.text import RLM, clean_title
from bot.errors import ComposeError
from bot.feeds import parse
from bot.models import Article

from .kit.paths import WORDPRESS_FIXTURES
from .kit.wordpress import SAMPLE_ITEMS, rss2

PLATFORMS = ["x", "mastodon", "bluesky", "telegram", "telegram_caption", "facebook", "discord", "instagram", "threads"]
TEMPLATE = "{title}\n\n{excerpt}\n\n{short_link}\n{hashtags}"
SITE = "https://news.example"


def all_articles() -> list[Article]:
    found = parse(rss2(SAMPLE_ITEMS).encode(), feed_id="sample", url=SITE).articles
    for name in ("rss2.xml", "rss2-paged-2.xml", "rss2-after-edit.xml", "atom.xml"):
        path = WORDPRESS_FIXTURES / name
        if path.exists():
            found += parse(path.read_bytes(), feed_id=name, url=SITE).articles
    return found


ARTICLES = all_articles()


def check(text: str, article: Article, link: str, rule: LengthRule, tags: list[str]) -> None:
    assert rule.fits(text), f"{rule.count(text)} > {rule.max_length}"
    assert link in text.split()  # the whole link, as a word of its own
    assert "&#" not in text and "<" not in text
    body = text.removeprefix(RLM)
    title_part = body.split("\n")[0]
    if title_part != article.title:
        assert title_part.endswith(ELLIPSIS)
        kept = title_part.removesuffix(ELLIPSIS)
        words = article.title.split()
        assert any(kept == (" ".join(words[:k]).rstrip(TRAILING_PUNCTUATION) or " ".join(words[:k]))
                   for k in range(1, len(words))), "cut inside a word"
    for tag in tags:
        if tag in text:
            assert tag[1:].casefold() in hashtags_in(text)  # X sees it whole


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("article", ARTICLES, ids=[f"{a.feed_id}:{a.guid[-12:]}" for a in ARTICLES])
def test_every_headline_on_every_platform(article: Article, platform: str) -> None:
    rule = rule_of(platform)
    link = wordpress_short_link(article.guid, SITE) or article.link
    tags = make_hashtags(article.labels, limit=3, text=article.title)
    text = compose_post(article, TEMPLATE, "قريش", rule, direction="rtl", hashtags=tags, short_link=link)
    check(text, article, link, rule, tags)
    if article.title.startswith("CENTCOM"):
        assert text.startswith(RLM + "CENTCOM")


def test_the_long_headline_is_cut_on_x_but_whole_elsewhere() -> None:
    [long_one] = [a for a in ARTICLES if len(a.title) > 280][:1]
    link = wordpress_short_link(long_one.guid, SITE) or long_one.link
    x = compose_post(long_one, "{title}\n\n{short_link}", "قريش", rule_of("x"), direction="rtl", short_link=link)
    assert x.split("\n")[0].endswith("…") and x.endswith(link)
    fb = compose_post(long_one, "{title}\n\n{short_link}", "قريش", rule_of("facebook"), short_link=link)
    assert fb == f"{long_one.title}\n\n{link}"
    # Threads counts UTF-8 bytes: its 330 Arabic letters are some 600, so it is cut there too, at a word.
    threads = compose_post(long_one, "{title}\n\n{short_link}", "قريش", rule_of("threads"), direction="rtl",
                           short_link=link)
    assert len(threads.encode()) <= 500 and threads.endswith(f"\n\n{link}")
    check(threads, long_one, link, rule_of("threads"), [])
    assert len(threads.encode()) > 450  # as much of the headline as fits, not a few words


# --- generated headlines ----------------------------------------------------------------------------------

ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئةى"
word = st.one_of(
    st.text(alphabet=ARABIC, min_size=1, max_size=12),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzCENTOM", min_size=1, max_size=10),
    st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩.,%", min_size=1, max_size=6),
    st.sampled_from(["🔴", "👨‍👩‍👧", "🇮🇶", "✅", "«لجنة»", "الحوار،", "CENTCOM:", "|", "-", "؟", "&", "“نص”"]),
)
markup = st.sampled_from(["{}", "<b>{}</b>", "&#8220;{}&#8221;", "&amp;#8220;{}&amp;#8221;", "{}&#8230;"])
label = st.text(alphabet=ARABIC + " ـًٌٍَُِّْ-", min_size=1, max_size=20)


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.tuples(word, markup), min_size=1, max_size=60), labels=st.lists(label, max_size=6),
       platform=st.sampled_from(PLATFORMS), excerpt_words=st.lists(word, max_size=40))
def test_property_generated_headlines(words: list[tuple[str, str]], labels: list[str], platform: str,
                                      excerpt_words: list[str]) -> None:
    raw = " ".join(m.format(html.escape(w, quote=False) if m != "{}" else w) for w, m in words)
    title = clean_title(raw)
    if not title:
        return
    article = Article(feed_id="f", guid=f"{SITE}/?p=7", title=title, link=f"{SITE}/2026/11/slug/",
                      summary=" ".join(excerpt_words), labels=tuple(labels))
    rule = rule_of(platform)
    tags = make_hashtags(labels, limit=4, text=title)
    link = f"{SITE}/?p=7"
    try:
        text = compose_post(article, TEMPLATE, "قريش", rule, direction="rtl", hashtags=tags, short_link=link)
    except ComposeError:
        # Only when not even the first word and the link fit.
        first = title.split()[0]
        assert not rule.fits(f"{RLM}{first}…\n\n{link}") or not rule.fits(f"{first}…\n\n{link}")
        return
    check(text, article, link, rule, tags)
