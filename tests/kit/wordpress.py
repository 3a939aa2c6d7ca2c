"""Feeds in exactly the shape WordPress 6.x writes them (see ../shared/fixtures/wordpress/), with our own posts.

WordPress traits reproduced: titles escaped by ``wptexturize`` (``&#8220;``, ``&#038;``, ``&#124;``),
categories and tags together as ``<category>``, ``?p=ID`` guids (or the pretty permalink for posts published
in one step), percent-encoded Arabic slugs in lower-case hex, "Continue reading" links in descriptions,
emoji turned into ``wp-smiley`` images in content, ``<language>en-US</language>`` on an Arabic site.

Run ``python -m tests.kit.wordpress`` to rewrite the demo feed ``config/demo/feed.xml``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from .paths import DEMO_FEED

SITE = "https://news.example"
#: The demo's site: under example.com, which X's link rules take for a link (news.example would count in full).
DEMO_SITE = "https://news.example.com"
BASE_TIME = datetime(2026, 11, 29, 5, 0, 0, tzinfo=UTC)

_TEXTURIZE = {"“": "&#8220;", "”": "&#8221;", "‘": "&#8216;", "’": "&#8217;", "–": "&#8211;",
              "—": "&#8212;", "…": "&#8230;", "|": "&#124;"}


def wp_title(text: str) -> str:
    """A title as WordPress prints it in RSS: ``&`` as ``&#038;``, typographic characters as entities."""
    out = text.replace("&", "&#038;").replace("<", "&lt;").replace(">", "&gt;")
    for ch, ent in _TEXTURIZE.items():
        out = out.replace(ch, ent)
    return out


def slug_url(site: str, when: datetime, title: str) -> str:
    slug = "-".join(w for w in "".join(c if c.isalnum() or c.isspace() else " " for c in title).split())[:60]
    encoded = quote(slug, safe="-").lower()
    return f"{site}/{when:%Y}/{when:%m}/{encoded}/"


@dataclass
class Item:
    post_id: int
    title: str
    labels: list[str] = field(default_factory=list)
    body: str = ""  #: plain text of the article's first paragraph; defaults to the title
    published: datetime | None = None
    pretty_guid: bool = False  #: published in one step: the guid is the permalink, not ?p=ID
    image: str | None = None  #: a real <img> at the top of the content
    smiley: str | None = None  #: an emoji that WordPress turns into a wp-smiley image
    more: bool = False  #: a long body: the description ends with "… Continue reading"
    site: str = SITE
    dated: bool = True  #: False: no pubDate at all (a broken feed)

    @property
    def when(self) -> datetime:
        return self.published or BASE_TIME + timedelta(minutes=self.post_id)

    @property
    def link(self) -> str:
        return slug_url(self.site, self.when, self.title)

    @property
    def guid(self) -> str:
        return self.link if self.pretty_guid else f"{self.site}/?p={self.post_id}"

    def _content(self) -> str:
        body = html.escape(self.body or self.title, quote=False)
        parts = []
        if self.image:
            parts.append(f'<p><img decoding="async" loading="lazy" src="{self.image}" alt="" '
                         f'width="1200" height="675" /></p>')
        if self.smiley and body.startswith(self.smiley):
            code = f"{ord(self.smiley[0]):x}"
            body = (f'<img src="https://s.w.org/images/core/emoji/14.0.0/72x72/{code}.png" alt="{self.smiley}" '
                    f'class="wp-smiley" style="height: 1em; max-height: 1em;" />' + body[len(self.smiley):])
        parts.append(f"<p>{body}</p>")
        return "\n".join(parts) + "\n"

    def _description(self) -> str:
        text = self.body or self.title
        if self.more:
            return (f'{text[:300]}&#8230; <a class="more-link" href="{self.link}">Continue reading '
                    f'<span class="screen-reader-text">{self.title}</span></a>')
        return wp_title(text)

    def rss(self) -> str:
        cats = "".join(f"\t\t\t\t<category><![CDATA[{c}]]></category>\n" for c in self.labels)
        return (
            "\t<item>\n"
            f"\t\t<title>{wp_title(self.title)}</title>\n"
            f"\t\t<link>{self.link}</link>\n"
            f"\t\t\t\t\t<comments>{self.link}#respond</comments>\n"
            "\t\t\n"
            "\t\t<dc:creator><![CDATA[admin]]></dc:creator>\n"
            + (f"\t\t<pubDate>{format_datetime(self.when.astimezone(UTC)).replace('-0000', '+0000')}</pubDate>\n"
               if self.dated else "")
            + f"{cats}"
            f'\t\t<guid isPermaLink="false">{self.guid}</guid>\n\n'
            f"\t\t\t\t\t<description><![CDATA[{self._description()}]]></description>\n"
            f"\t\t\t\t\t\t\t\t\t\t<content:encoded><![CDATA[{self._content()}]]></content:encoded>\n"
            "\t\t\t\t\t\n"
            f"\t\t\t\t\t<wfw:commentRss>{self.link}feed/</wfw:commentRss>\n"
            "\t\t\t<slash:comments>0</slash:comments>\n"
            "\t\t\n\t\t\n\t\t\t</item>\n"
        )

    def atom(self) -> str:
        cats = "".join(f'<category scheme="{self.site}" term="{c}" />' for c in self.labels)
        stamp = self.when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            "\t<entry>\n\t\t<author>\n\t\t\t<name>admin</name>\n"
            f"\t\t\t\t\t\t\t<uri>{self.site}</uri>\n\t\t\t\t\t\t</author>\n\n"
            f'\t\t<title type="html"><![CDATA[{wp_title(self.title)}]]></title>\n'
            f'\t\t<link rel="alternate" type="text/html" href="{self.link}" />\n\n'
            f"\t\t<id>{self.guid}</id>\n\t\t<updated>{stamp}</updated>\n\t\t<published>{stamp}</published>\n"
            f"\t\t{cats}\n"
            f'\t\t<summary type="html"><![CDATA[{self._description()}]]></summary>\n\n'
            f'\t\t\t\t\t<content type="html" xml:base="{self.link}"><![CDATA[{self._content()}]]></content>\n'
            "\t\t\t</entry>\n"
        )


def rest_post(item: Item, categories: list[str], tags: list[str], featured: str | None = None) -> dict[str, Any]:
    """``/wp-json/wp/v2/posts/<id>?_embed`` for an item, in the shape WordPress 6.x answers (see the captured
    rest-post-*.json): categories and tags apart in ``_embedded["wp:term"]``, the featured image in
    ``_embedded["wp:featuredmedia"]``."""
    def term(i: int, name: str, taxonomy: str) -> dict[str, Any]:
        return {"id": 100 + i, "link": f"{item.site}/?cat={100 + i}", "name": name, "slug": quote(name).lower(),
                "taxonomy": taxonomy, "_links": {}}

    embedded: dict[str, Any] = {
        "author": [{"id": 1, "name": "admin", "url": item.site, "slug": "admin"}],
        "wp:term": [[term(i, c, "category") for i, c in enumerate(categories)],
                    [term(50 + i, t, "post_tag") for i, t in enumerate(tags)]],
    }
    if featured:
        embedded["wp:featuredmedia"] = [{"id": 900, "media_type": "image", "mime_type": "image/jpeg",
                                         "source_url": featured, "alt_text": "", "_links": {}}]
    stamp = item.when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "id": item.post_id, "date": stamp, "date_gmt": stamp, "guid": {"rendered": item.guid},
        "modified": stamp, "modified_gmt": stamp, "slug": item.link.rstrip("/").rsplit("/", 1)[-1],
        "status": "publish", "type": "post", "link": item.link, "title": {"rendered": wp_title(item.title)},
        "content": {"rendered": item._content(), "protected": False},
        "excerpt": {"rendered": f"<p>{wp_title(item.body or item.title)}</p>\n", "protected": False},
        "author": 1, "featured_media": 900 if featured else 0, "categories": list(range(100, 100 + len(categories))),
        "tags": list(range(150, 150 + len(tags))), "_links": {}, "_embedded": embedded,
    }


def rss2(items: list[Item], *, name: str = "قريش", site: str = SITE) -> str:
    """A WordPress RSS2 feed of these items (give them newest first, as WordPress does)."""
    build = max((i.when for i in items), default=BASE_TIME)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"\n'
        '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
        '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
        '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '\txmlns:atom="http://www.w3.org/2005/Atom"\n'
        '\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"\n'
        '\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"\n\t>\n\n'
        "<channel>\n"
        f"\t<title>{name}</title>\n"
        f'\t<atom:link href="{site}/?feed=rss2" rel="self" type="application/rss+xml" />\n'
        f"\t<link>{site}</link>\n"
        "\t<description>أخبار</description>\n"
        f"\t<lastBuildDate>{format_datetime(build.astimezone(UTC)).replace('-0000', '+0000')}</lastBuildDate>\n"
        "\t<language>en-US</language>\n"
        "\t<sy:updatePeriod>\n\thourly\t</sy:updatePeriod>\n"
        "\t<sy:updateFrequency>\n\t1\t</sy:updateFrequency>\n"
        "\t<generator>https://wordpress.org/?v=6.1.9</generator>\n"
        + "".join(i.rss() for i in items)
        + "\t</channel>\n</rss>\n"
    )


def atom(items: list[Item], *, name: str = "قريش", site: str = SITE) -> str:
    build = max((i.when for i in items), default=BASE_TIME).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed\n\txmlns="http://www.w3.org/2005/Atom"\n'
        '\txmlns:thr="http://purl.org/syndication/thread/1.0"\n\txml:lang="en-US"\n\t>\n'
        f'\t<title type="text">{name}</title>\n\t<subtitle type="text">أخبار</subtitle>\n\n'
        f"\t<updated>{build}</updated>\n\n"
        f'\t<link rel="alternate" type="text/html" href="{site}" />\n'
        f"\t<id>{site}/feed/atom/</id>\n"
        f'\t<link rel="self" type="application/atom+xml" href="{site}/?feed=atom" />\n\n'
        '\t<generator uri="https://wordpress.org/" version="6.1.9">WordPress</generator>\n'
        + "".join(i.atom() for i in items)
        + "</feed>\n"
    )


LONG_TITLE = (
    "مجلس الوزراء يقر حزمة إصلاحات اقتصادية تشمل دعم المشاريع الصغيرة والمتوسطة وتوسيع شبكة الحماية "
    "الاجتماعية وإعادة هيكلة المصارف الحكومية، ووزير المالية يؤكد أن الموازنة الجديدة ستخصص نسبة أكبر "
    "للاستثمار في البنى التحتية والطاقة المتجددة وتحسين الخدمات العامة في المحافظات كافة خلال الأعوام المقبلة"
)

#: Our sample site's newest posts, newest first: every trap the captures show, in our own words.
SAMPLE_ITEMS: list[Item] = [
    Item(120, "وزير الخارجية: “الحوار هو الطريق الوحيد لحل الأزمة” في المنطقة",
         ["سياسة", "الشرق الأوسط", "وزير الخارجية"],
         body="أكد وزير الخارجية في مؤتمر صحفي أن الحوار هو الطريق الوحيد لحل الأزمة، داعياً الأطراف "
              "كافة إلى ضبط النفس والعودة إلى طاولة المفاوضات في أقرب وقت ممكن، ومشيراً إلى أن بلاده "
              "ستواصل جهودها الدبلوماسية مع الشركاء الإقليميين والدوليين لتحقيق الاستقرار.",
         more=True),
    Item(118, "عاجل | انقطاع التيار الكهربائي عن أحياء واسعة من العاصمة", ["عاجل", "خدمات"]),
    Item(117, LONG_TITLE, ["اقتـصاد", "سياسة"]),
    Item(115, "NASA: إطلاق قمر صناعي عربي جديد لرصد المناخ", ["علوم", "الفضاء"]),
    Item(114, "🔴 مباشر: جلسة البرلمان لمناقشة الموازنة العامة", ["عاجل", "البرلمان"], smiley="🔴"),
    Item(112, "#البصرة: افتتاح ميناء الفاو الكبير أمام السفن التجارية", ["البصرة", "اقتـصاد"]),
    Item(110, "صور: مهرجان بابل الدولي يعود بعد غياب", ["ثقافة", "صور"],
         body="عاد مهرجان بابل الدولي بمشاركة فرق من عشرين دولة.",
         image=f"{SITE}/wp-content/uploads/2026/11/babylon.jpg"),
    Item(108, "النفط & الطاقة: الأسعار ترتفع مع تراجع المخزونات", ["اقتـصاد", "النفط"]),
    Item(106, "المنتخب الوطني يتأهل إلى نهائيات كأس آسيا", ["رِياضة", "كرة القدم"], pretty_guid=True),
    Item(104, "هل تنجح خطة المياه الجديدة؟ خبراء يجيبون", ["تحليلات"]),
]


def demo_items() -> list[Item]:
    """``SAMPLE_ITEMS`` on the demo's site."""
    from dataclasses import replace

    return [replace(i, site=DEMO_SITE, image=i.image.replace(SITE, DEMO_SITE) if i.image else None)
            for i in SAMPLE_ITEMS]


if __name__ == "__main__":
    DEMO_FEED.write_text(rss2(demo_items(), site=DEMO_SITE), encoding="utf-8")
    print(f"wrote {DEMO_FEED}")
