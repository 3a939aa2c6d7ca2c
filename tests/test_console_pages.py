"""The console's pages and actions over a real socket, each the operations layer's: edit a waiting post (the
counter as X counts, a too-long text refused), approve and reject, compose with previews and schedules, the
history's search, filters and pages, accounts with no secret shown; and sign-in with WordPress, ``bot console``
on its own, ``/metrics`` behind its token, the ``console:`` section's errors."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from bot.clock import ManualClock
from bot.compose.length import count_x
from bot.config import load_config
from bot.errors import ConfigError

from .kit.configs import account, sample_site, write_config
from .kit.console import PASSWORDS, SECRET, ConsoleServer, with_console
from .kit.fake_x import FakeX
from .kit.paths import ROOT
from .kit.runs import bot_process, free_port, wait_for
from .kit.servers import FeedServer, Seen
from .kit.wordpress import SAMPLE_ITEMS

LONG = "عاجل | " + " ".join(["الحكومة تعلن خطة طوارئ للكهرباء"] * 12)


@pytest.fixture
def console(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock) -> Iterator[ConsoleServer]:
    config = with_console(sample_site(tmp_path, feed_server, [account(fake_x, "x", approval={"categories": ["عاجل"]}),
                                                              account(fake_x, "off", enabled=False)],
                                      feed={"backfill": 10}))
    server = ConsoleServer(config, clock)
    server.bot.poll_all()
    yield server
    server.close()


def _one(console: ConsoleServer, state: str) -> int:
    return console.bot.store.deliveries(state=state)[0].id


def test_editing_a_waiting_post_counts_as_x_and_refuses_what_does_not_fit(console: ConsoleServer,
                                                                         fake_x: FakeX) -> None:
    editor = console.client("omar")
    delivery = _one(console, "queued")
    form = editor.get(f"/posts/{delivery}/edit")
    assert form.status_code == 200
    composed = console.ops.composed_text(delivery)
    assert f'data-length="{count_x(composed)}"' in form.text  # the counter starts at what would be sent
    text = "عاجل | الحكومة تعلن خطة طوارئ https://news.example/?p=1"
    counter = editor.post(f"/posts/{delivery}/measure", {"text": text})
    assert counter.status_code == 200 and f'data-length="{count_x(text)}"' in counter.text and "fits" in counter.text
    assert count_x(text) == 29 + 23 + 1 or count_x(text) > 0  # the link counts 23, as X counts it
    too_long = editor.post(f"/posts/{delivery}/measure", {"text": LONG})
    assert "too-long" in too_long.text
    refused = editor.post(f"/posts/{delivery}/edit", {"text": LONG, "action": "save"})
    assert refused.status_code == 400 and "280" in refused.text
    assert console.bot.store.delivery(delivery).text is None  # nothing was kept
    saved = editor.post(f"/posts/{delivery}/edit", {"text": text, "action": "save"})
    assert saved.status_code == 200 and saved.url.endswith("/queue")
    assert console.bot.store.delivery(delivery).text == text
    assert [e.event for e in console.ops.post_history(delivery)][-1] == "edit"
    console.bot.dispatch()
    assert text in [t["text"] for t in fake_x.tweets]


def test_approve_reject_and_approve_with_an_edited_text(console: ConsoleServer, fake_x: FakeX) -> None:
    editor = console.client("omar")
    waiting = [d.id for d in console.bot.store.deliveries(state="awaiting_approval")]
    assert len(waiting) >= 2  # the عاجل posts
    page = editor.get("/approvals").text
    for d in console.bot.store.deliveries(state="awaiting_approval"):
        assert f'id="post-{d.id}"' in page
    assert editor.post(f"/posts/{waiting[0]}/reject").status_code == 200
    assert console.bot.store.delivery(waiting[0]).state == "skipped"
    mine = "عاجل | نص المحرر للموافقة https://news.example/?p=2"
    assert editor.post(f"/posts/{waiting[1]}/edit", {"text": mine, "action": "approve"}).status_code == 200
    row = console.bot.store.delivery(waiting[1])
    assert row.state == "sent" and [t["text"] for t in fake_x.tweets].count(mine) == 1
    assert {e.event for e in console.ops.post_history(waiting[1])} >= {"approve"}
    # Approving twice is an error said in words, and sends nothing more.
    again = editor.post(f"/posts/{waiting[1]}/approve")
    assert again.status_code == 200 and "awaiting_approval" in again.text
    assert [t["text"] for t in fake_x.tweets].count(mine) == 1


def test_compose_previews_sends_and_schedules(console: ConsoleServer, fake_x: FakeX) -> None:
    editor = console.client("omar")
    text = "تنبيه: انقطاع الكهرباء عن أحياء الكرخ مساء اليوم"
    preview = editor.post("/compose/preview", {"text": text, "account": "x", "link": "https://news.example/?p=9"})
    assert preview.status_code == 200 and 'data-account="x"' in preview.text and text in preview.text
    none_chosen = editor.post("/compose/preview", {"text": text})
    assert "اختر حسابًا" in none_chosen.text
    disabled = editor.post("/compose", {"text": text, "account": "off", "action": "send"})
    assert disabled.status_code == 400 and not console.bot.store.deliveries(account_id="off")
    for image in ("/etc/passwd", "file:///etc/passwd"):  # an address, never a file of the server's
        refused = editor.post("/compose", {"text": text, "account": "x", "action": "send", "image": image})
        assert refused.status_code == 400 and "https://" in refused.text
    # The form sent twice (a double click, the back button) posts once.
    import re as _re

    key = _re.search(r'name="key" value="([0-9a-f]{32})"', editor.get("/compose").text).group(1)  # type: ignore[union-attr]
    once = "خبر عاجل يُرسل مرة واحدة فقط"
    first = editor.post("/compose", {"text": once, "account": "x", "action": "send", "key": key})
    second = editor.post("/compose", {"text": once, "account": "x", "action": "send", "key": key})
    assert first.status_code == second.status_code == 200 and "نُشر من قبل" in second.text
    assert sum(once in t["text"] for t in fake_x.tweets) == 1
    at = (console.clock.now() + timedelta(hours=3)).astimezone(console.bot.config.site.tz)
    scheduled = editor.post("/compose", {"text": text, "account": "x", "action": "schedule",
                                         "at": at.strftime("%Y-%m-%dT%H:%M")})
    assert scheduled.status_code == 200 and "جُدول" in scheduled.text
    console.bot.dispatch()
    assert text not in [t["text"].split("\n")[0] for t in fake_x.tweets]  # not before its time
    console.clock.advance(timedelta(hours=3, minutes=1))
    console.bot.dispatch()
    assert [t for t in fake_x.tweets if text in t["text"]]
    past = editor.post("/compose", {"text": "نص آخر", "account": "x", "action": "schedule",
                                    "at": (at - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")})
    assert past.status_code == 400
    bad = editor.post("/compose", {"text": "نص آخر", "account": "x", "action": "schedule", "at": "tomorrow"})
    assert bad.status_code == 400 and "flash error" in bad.text


def test_history_searches_filters_and_pages(console: ConsoleServer) -> None:
    viewer = console.client("huda")
    everything = viewer.get("/history").text
    assert f"{len(SAMPLE_ITEMS)}" in everything
    word = SAMPLE_ITEMS[0].title.split()[-1]
    found = viewer.get("/history", params={"q": word}).text
    rows = console.ops.history(word)[1]
    assert rows >= 1 and found.count("<tr>") - 1 == rows  # one header row, then the found ones
    assert viewer.get("/history", params={"state": "sent"}).text.count("<tr>") == 1  # nothing sent yet
    assert viewer.get("/history", params={"account": "nobody"}).status_code == 200
    assert viewer.get("/history", params={"since": "2999-01-01"}).text.count("<tr>") == 1
    assert viewer.get("/history", params={"page": "999999999999"}).status_code == 200  # bad input: a defined page
    assert viewer.get("/history", params={"state": "<script>"}).status_code == 200
    for since in ("0001-01-01", "9999-12-31"):
        assert viewer.get("/history", params={"since": since, "until": since}).status_code == 200
    assert viewer.get("/posts/0").status_code == 404 and viewer.get("/posts/00001").status_code == 200


def test_two_editors_on_one_post_never_lose_a_text_silently(console: ConsoleServer) -> None:
    a, b = console.client("omar"), console.client("sara")
    delivery = _one(console, "queued")
    form = a.get(f"/posts/{delivery}/edit").text
    import re as _re

    seen = _re.search(r'name="seen" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    theirs = "نص المحرر الثاني https://news.example/?p=3"
    assert b.post(f"/posts/{delivery}/edit", {"text": theirs, "action": "save",
                                               "seen": seen}).status_code == 200
    mine = "نص المحرر الأول https://news.example/?p=3"
    late = a.post(f"/posts/{delivery}/edit", {"text": mine, "action": "save", "seen": seen})
    assert late.status_code == 400 and "someone else" in late.text and theirs in late.text
    assert console.bot.store.delivery(delivery).text == theirs  # kept, and the page shows it


def test_links_from_platforms_are_http_only(console: ConsoleServer) -> None:
    import sqlalchemy as sa

    from bot.store.tables import deliveries

    delivery = _one(console, "queued")
    with console.bot.store.engine.begin() as c:
        c.execute(sa.update(deliveries).where(deliveries.c.id == delivery).values(
            state="sent", remote_url="javascript:alert(document.cookie)", remote_id="1",
            sent_at=console.clock.now()))
    viewer = console.client("huda")
    for path in ("/", "/history", f"/posts/{delivery}"):
        page = viewer.get(path).text
        assert 'href="javascript:' not in page, path


def test_accounts_and_feeds_show_settings_and_never_a_secret(console: ConsoleServer, fake_x: FakeX) -> None:
    page = console.client("huda").get("/accounts").text
    assert "x" in page and "approval" in page and "template" in page
    for secret in fake_x.credentials().values():
        assert secret not in page
    assert SECRET not in page


def test_sign_in_with_wordpress(tmp_path: Path, feed_server: FeedServer, clock: ManualClock) -> None:
    people = {"layla": ("abcd EFGH ijkl MNOP qrst UVWX", ["editor"]), "rami": ("1234 5678 9012 3456 7890 abcd",
                                                                             ["administrator"]),
              "nour": ("zzzz yyyy xxxx wwww vvvv uuuu", ["author"]), "sara": ("a wp password of sara's", ["editor"])}

    def me(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        auth = seen.headers.get("Authorization", "")
        name, _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":") if auth else ("",
                                                                                                            "", "")
        name = name.lower()  # WordPress's logins ignore case
        if name in people and people[name][0] == password and "context=edit" in seen.path:
            return 200, {}, json.dumps({"id": 7, "username": name, "roles": people[name][1]}).encode()
        return 401, {}, json.dumps({"code": "rest_not_logged_in", "message": "You are not currently logged in."}
                                   ).encode()

    feed_server.handlers["/wp-json/wp/v2/users/me"] = me
    config = with_console(sample_site(tmp_path, feed_server, site={"name": "قريش", "url": feed_server.base}),
                          wordpress_login=True)
    server = ConsoleServer(config, clock)
    try:
        for name, role in (("layla", "editor"), ("rami", "admin"), ("nour", "viewer")):
            c = server.client()
            assert c.login(name, people[name][0]).status_code == 200, name
            user = server.bot.store.user(name)
            assert user is not None and (user.role, user.source) == (role, "wordpress")
        assert server.client().login("layla", "wrong wrong wrong").status_code == 401
        # WordPress logins ignore case: the record is WordPress's own spelling of the name.
        assert server.client().login("LAYLA", people["layla"][0]).status_code == 200
        assert [u.name for u in server.ops.list_users()].count("layla") == 1 and server.bot.store.user("LAYLA") is None
        # An admin's demotion stays; a removed WordPress user stays out.
        server.ops.change_user("rami", role="viewer")
        assert server.client().login("rami", people["rami"][0]).status_code == 200
        assert server.bot.store.user("rami").role == "viewer"  # type: ignore[union-attr]
        server.ops.remove_user("layla")
        assert server.client().login("layla", people["layla"][0]).status_code == 401
        assert server.bot.store.user("layla").role == "removed"  # type: ignore[union-attr]
        # A subscriber (anyone who may register) gets nothing; nor does an answer that is not about the name.
        people["sub"] = ("sub sub sub sub sub sub", ["subscriber"])
        assert server.client().login("sub", people["sub"][0]).status_code == 401
        assert server.bot.store.user("sub") is None

        def liar(seen: Seen) -> tuple[int, dict[str, str], bytes]:
            return 200, {}, json.dumps({"id": 1, "username": "someone-else", "roles": ["administrator"]}).encode()

        feed_server.handlers["/wp-json/wp/v2/users/me"] = liar
        assert server.client().login("mallory", "any password at all").status_code == 401
        feed_server.handlers["/wp-json/wp/v2/users/me"] = lambda seen: (200, {}, b'{"roles": ["administrator"]}')
        assert server.client().login("mallory", "any password at all").status_code == 401
        assert server.bot.store.user("mallory") is None
        feed_server.handlers["/wp-json/wp/v2/users/me"] = me
        # A local user of the same name is never taken over by a WordPress login.
        assert server.client().login("sara", people["sara"][0]).status_code == 401
        assert server.bot.store.user("sara").source == "local"  # type: ignore[union-attr]
        assert server.client().login("sara", PASSWORDS["sara"]).status_code == 200
    finally:
        server.close()


def test_bot_console_serves_the_console_alone(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX) -> None:
    config = with_console(sample_site(tmp_path, feed_server, [account(fake_x, "x")], feed={"backfill": 10}))
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["console"]["secret_key"] = "${BOT_CONSOLE_SECRET}"
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    env = {"BOT_CONSOLE_SECRET": SECRET}
    subprocess.run([sys.executable, "-m", "bot", "poll", "--config", str(config)], cwd=ROOT, timeout=120, check=True,
                   env={**__import__("os").environ, **env}, capture_output=True)
    subprocess.run([sys.executable, "-m", "bot", "user", "add", "omar", "--role", "editor", "--config", str(config)],
                   input=PASSWORDS["omar"] + "\n", text=True, cwd=ROOT, timeout=60, check=True, capture_output=True)
    port = free_port()
    log = (tmp_path / "console.log").open("wb")
    proc = bot_process("console", "--config", str(config), "--port", str(port), stderr=log, **env)
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return requests.get(base + "/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, what="bot console")
        from .kit.console import Client

        c = Client(base)
        assert c.login("omar", PASSWORDS["omar"]).status_code == 200
        history = c.get("/history").text  # what the daemon's database holds (bot poll sent them)
        assert SAMPLE_ITEMS[0].title.split()[0] in history and '<html lang="ar" dir="rtl">' in history
        assert c.get("/queue").status_code == 200
        assert requests.post(base + "/ping/anything", timeout=5).status_code == 404  # no scheduler: no ping
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        log.close()


def test_metrics_can_be_kept_behind_a_token(tmp_path: Path, feed_server: FeedServer) -> None:
    port = free_port()
    config = sample_site(tmp_path, feed_server, server={"host": "127.0.0.1", "port": port,
                                                        "metrics_token": "metrics-t0ken-5c1d"})
    log = (tmp_path / "daemon.log").open("wb")
    proc = bot_process("run", "--config", str(config), stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> Any:
            try:
                return requests.get(base + "/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, what="the daemon")
        assert requests.get(base + "/metrics", timeout=5).status_code == 401
        assert requests.get(base + "/metrics", headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
        ok = requests.get(base + "/metrics", headers={"Authorization": "Bearer metrics-t0ken-5c1d"}, timeout=5)
        assert ok.status_code == 200 and "bot_" in ok.text
        assert requests.get(base + "/", timeout=5).status_code == 404  # no console: section, no console
        assert requests.get(base + "/login", timeout=5).status_code == 404
        with_console(config)  # a console: section added: the running daemon serves it after its reload
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: requests.get(base + "/login", timeout=5).status_code == 200, what="the console after reload")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def test_the_console_section_says_what_is_wrong(tmp_path: Path) -> None:
    path = write_config(tmp_path, feeds=[{"id": "main", "url": "https://news.example/feed"}],
                        console={"secret_key": "short"})
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "console.secret_key" in e.value.render() and "32 characters" in e.value.render()
    path = write_config(tmp_path, feeds=[{"id": "main", "url": "https://news.example/feed"}],
                        console={"secret_key": "${BOT_CONSOLE_SECRET_UNSET}"})
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "BOT_CONSOLE_SECRET_UNSET" in e.value.render()
    assert load_config(path, secrets=False).console is not None  # bot user … runs without it
