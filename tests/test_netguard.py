"""Server-side request forgery: a URL found in content (a feed item's image, og:image, a featured image, a
link card's thumbnail, a page read for its short link) leads only to public addresses or to the hosts the
config trusts, checked on the address actually connected to, redirects included. A refusal is logged and
the post goes without the image."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from bot import netguard
from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot

from .kit.configs import account, sample_site
from .kit.e2e import JPEG, publish
from .kit.fake_telegram import FakeTelegram
from .kit.servers import FeedServer
from .kit.wordpress import Item


@pytest.mark.parametrize(("address", "public"), [
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.9", False), ("192.168.1.1", False),
    ("169.254.169.254", False),  # cloud metadata
    ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False), ("::1", False), ("fe80::1", False),
    ("fd00::1", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
    ("fec0::1", False), ("64:ff9b::a9fe:a9fe", False), ("2002:7f00:1::", False),  # site-local, NAT64, 6to4
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False),  # Teredo, carrying 10.0.0.1
    ("8.8.8.8", True), ("1.1.1.1", True), ("2606:4700:4700::1111", True), ("::ffff:8.8.8.8", True),
    ("64:ff9b::808:808", True),
])
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert netguard.public(address) is public


def test_a_content_session_reaches_trusted_hosts_only_when_the_address_is_private(feed_server: FeedServer) -> None:
    feed_server.set("/pic.jpg", JPEG, content_type="image/jpeg", conditional=False)
    local = f"http://localhost:{feed_server.base.rsplit(':', 1)[1]}"
    feed_server.set("/away", b"", status=302, headers={"Location": f"{local}/pic.jpg"}, conditional=False)
    session = netguard.content_session()
    netguard.TRUSTED.set(["127.0.0.1"])
    try:
        assert session.get(feed_server.url("/pic.jpg"), timeout=5).content == JPEG  # trusted: the site
        for url in (f"{local}/pic.jpg", feed_server.url("/away")):  # a name for loopback; a redirect to it
            with pytest.raises(requests.ConnectionError) as caught:
                session.get(url, timeout=5)
            assert "localhost is at 127.0.0.1, not a public address" in (netguard.refusal(caught.value) or "")
        assert len(feed_server.hits("/pic.jpg")) == 1  # the refused ones never reached it
    finally:
        netguard.TRUSTED.set([])
        session.close()


def test_a_proxy_in_the_environment_does_not_carry_content_fetches_past_the_guard(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed_server.set("/latest/meta-data/", b"secret", content_type="text/plain", conditional=False)
    monkeypatch.setenv("HTTP_PROXY", feed_server.base)  # a proxy would fetch it for us, unchecked
    monkeypatch.setenv("http_proxy", feed_server.base)
    session = netguard.content_session()
    try:
        with pytest.raises(requests.ConnectionError):
            session.get(f"http://localhost:{feed_server.base.rsplit(':', 1)[1]}/latest/meta-data/", timeout=5)
        assert feed_server.hits("/latest/meta-data/") == []
    finally:
        session.close()


@pytest.mark.parametrize("how", ["direct", "redirect"])
def test_an_internal_image_named_by_a_feed_is_not_fetched_and_the_post_goes_without_it(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
    caplog: pytest.LogCaptureFixture, how: str,
) -> None:
    internal = f"http://localhost:{feed_server.base.rsplit(':', 1)[1]}/internal/dashboard.png"  # not the site's host
    feed_server.set("/internal/dashboard.png", JPEG, content_type="image/jpeg", conditional=False)
    feed_server.set("/up/moved.jpg", b"", status=302, headers={"Location": internal}, conditional=False)
    path = sample_site(tmp_path, feed_server, [account(telegram, "tg", image=True)])
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    image = internal if how == "direct" else feed_server.url("/up/moved.jpg")
    publish(feed_server, [Item(150, "وزارة الصحة تعلن نتائج المسح الوطني", ["صحة"], site=feed_server.base,
                               image=image)])
    assert bot.poll("main").queued == 1
    [o] = bot.dispatch()
    assert o.status == "sent"
    [message] = telegram.messages
    assert "text" in message and telegram.photos == []  # sent as a message, without the image
    assert feed_server.hits("/internal/dashboard.png") == []
    assert "not a public address: refused" in caplog.text
    bot.close()
