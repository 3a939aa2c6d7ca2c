"""The console speaks Arabic first and English second: every label comes from the gettext catalogue (none
written into a template), the Arabic catalogue has every message, pages are ``lang="ar" dir="rtl"`` (English
``ltr``), times are in the site's timezone, and headlines mixing scripts are isolated."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import regex
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.clock import ManualClock
from bot.web.i18n import LANGUAGES, Speaker

from .kit.configs import account, sample_site
from .kit.console import ConsoleServer, with_console
from .kit.fake_x import FakeX
from .kit.paths import ROOT
from .kit.servers import FeedServer

WEB = ROOT / "bot" / "web"
TEMPLATES = sorted((WEB / "templates").glob("*.html"))


def _used() -> set[str]:
    """Every message the console's code and templates ask for, found as ``pybabel extract`` finds them."""
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(WEB), method_map, options, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue(lang: str) -> dict[str, object]:
    source = resources.files("bot.web").joinpath("locale", lang, "LC_MESSAGES", "messages.po")
    with source.open("rb") as f:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(f, locale=lang) if m.id}


def test_the_arabic_catalogue_has_every_message_and_no_stale_one() -> None:
    used = _used()
    assert len(used) > 100  # the extraction found the console's messages
    arabic = _catalogue("ar")
    missing = sorted(m for m in used if not arabic.get(m) or (isinstance(arabic[m], tuple) and not all(arabic[m])))
    assert missing == [], "messages without an Arabic translation (pybabel update, then translate)"
    assert sorted(set(arabic) - used) == [], "messages in the catalogue that nothing asks for"
    assert set(_catalogue("en")) == used
    for m, translated in arabic.items():  # a translation keeps the fields its message fills
        fields = set(re.findall(r"\{\w+\}", m))
        for t in translated if isinstance(translated, tuple) else (translated,):
            assert set(re.findall(r"\{\w+\}", str(t))) <= fields | {"{n}"}, m
            assert regex.search(r"\p{Arabic}", str(t)) or m in ("English",), m


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_template_has_text_of_its_own(template: Path) -> None:
    """A person-readable word in a template is a catalogue message, never written in the markup."""
    source = template.read_text(encoding="utf-8")
    without = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", source, flags=re.S)
    visible = re.sub(r"<[^>]*>", " ", without)
    assert not regex.search(r"\p{L}", visible), regex.findall(r"\S*\p{L}\S*", visible)[:5]
    # Nor in the attributes a person reads or hears.
    spoken = re.findall(r'\b(?:alt|title|aria-label|placeholder)="([^"]*)"', without)
    assert not [a for a in spoken if regex.search(r"\p{L}", a)], spoken


def test_times_are_in_the_sites_timezone_in_the_readers_language() -> None:
    when = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    baghdad = ZoneInfo("Asia/Baghdad")
    assert "9:00" in Speaker("ar", baghdad).time(when, "short")  # 06:00 UTC is 09:00 in Baghdad
    assert "ص" in Speaker("ar", baghdad).time(when, "short")  # Arabic's "AM"
    assert "9:00\u202fAM" in Speaker("en", baghdad).time(when, "short")
    assert Speaker("ar", baghdad).input_time(when) == "2026-12-02T09:00"
    assert set(LANGUAGES) == {"ar", "en"}
    # Arabic's six plural forms.
    ar = Speaker("ar", baghdad)
    assert [ar.ngettext("{n} post", "{n} posts", n) for n in (0, 1, 2, 3, 11, 100)] == [
        "لا منشورات", "منشور واحد", "منشوران", "3 منشورات", "11 منشورًا", "100 منشور"]


@pytest.fixture
def console(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock) -> Iterator[ConsoleServer]:
    config = with_console(sample_site(tmp_path, feed_server, [account(fake_x, "x")], feed={"backfill": 10}))
    server = ConsoleServer(config, clock)
    server.bot.poll_all()
    yield server
    server.close()


def test_pages_are_arabic_right_to_left_and_english_on_request(console: ConsoleServer) -> None:
    c = console.client("omar")
    queue = c.get("/queue").text
    assert '<html lang="ar" dir="rtl">' in queue and "الطابور" in queue and "سبب الانتظار" in queue
    english = c.get("/queue?lang=en").text
    assert '<html lang="en" dir="ltr">' in english and "Why it waits" in english and "الطابور" not in english
    assert '<html lang="en" dir="ltr">' in c.get("/history").text  # the choice is kept (a cookie)
    assert '<html lang="ar" dir="rtl">' in c.get("/history?lang=ar").text
    assert '<html lang="ar" dir="rtl">' in c.get("/login?lang=xx").text  # an unknown language: the default


def test_headlines_and_names_are_isolated_from_the_page_direction(console: ConsoleServer) -> None:
    c = console.client("omar")
    page = c.get("/queue").text
    titles = [d.title for d in console.bot.store.deliveries(state="queued")]
    assert titles
    import html

    for title in titles:
        assert f'<bdi dir="auto" class="headline">{html.escape(title, quote=True)}</bdi>' in page, title
