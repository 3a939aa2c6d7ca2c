"""Pages are decoded as browsers decode them: a byte-order mark, the header's charset, a ``<meta charset>``,
then detection. A server that says only ``text/html`` no longer garbles an Arabic headline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.charset import decode_html, html_encoding

from .kit.configs import posts, sample_site
from .kit.runs import Run
from .kit.servers import FeedServer

TITLE = "ماذا دار في اجتماع مجلس الوزراء؟"


def page(charset_meta: str = "") -> str:
    return (f"<html><head>{charset_meta}<title>{TITLE} – قريش</title>"
            "<link rel='shortlink' href='https://news.example/?p=930' /></head><body></body></html>")


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    (page('<meta charset="utf-8">').encode(), "text/html", "utf-8"),
    (page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">').encode("cp1256"),
     "text/html", "cp1256"),
    (b"\xef\xbb\xbf" + page().encode(), "text/html; charset=iso-8859-1", "utf-8"),  # the BOM wins
    (page('<meta charset="windows-1256">').encode(), "text/html; charset=utf-8", "utf-8"),  # the header, then
    (page().encode("cp1256"), "text/html", None),  # nothing said: detected
    (page().encode(), None, "utf-8"),
])
def test_the_encoding_is_found_as_a_browser_finds_it(body: bytes, content_type: str | None,
                                                     expected: str | None) -> None:
    if expected is not None:
        assert html_encoding(body, content_type) == expected
    assert TITLE in decode_html(body, content_type)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1256"])
def test_post_by_url_reads_a_page_whose_charset_is_only_in_its_meta(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], encoding: str,
) -> None:
    meta = '<meta charset="utf-8">' if encoding == "utf-8" else '<meta charset="windows-1256">'
    feed_server.set("/2026/11/cabinet/", page(meta).encode(encoding), content_type="text/html", conditional=False)
    path = sample_site(tmp_path, feed_server)
    result = run_bot("post", "--url", feed_server.url("/2026/11/cabinet/"), "--config", str(path))
    assert result.code == 0
    [post] = posts(tmp_path)
    assert post["text"].startswith(TITLE)
