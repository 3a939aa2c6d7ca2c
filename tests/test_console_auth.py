"""The console's safety, over a real socket: who may see and do what (signed out, viewer, editor, admin), the
sign-in and its throttle, sessions (signed, HttpOnly, SameSite, Secure over HTTPS; ended by sign-out, a new
password, removal, idleness), CSRF on every state-changing request, and the headers on every answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.web.app import CSP

from .kit.configs import account, sample_site
from .kit.console import PASSWORDS, ConsoleServer, with_console
from .kit.fake_x import FakeX
from .kit.servers import FeedServer

PAGES = ["/", "/queue", "/approvals", "/compose", "/history", "/accounts", "/users", "/posts/1", "/live/overview",
         "/live/queue", "/posts/1/edit"]


@pytest.fixture
def console(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock) -> Iterator[ConsoleServer]:
    config = with_console(sample_site(tmp_path, feed_server, [account(fake_x, "x")], feed={"backfill": 10}))
    server = ConsoleServer(config, clock)
    server.bot.poll_all()  # the sample feed's articles wait in the queue (nothing was dispatched)
    yield server
    server.close()


def _queued(console: ConsoleServer) -> int:
    return console.bot.store.deliveries(state="queued")[0].id


def test_every_page_but_sign_in_and_health_needs_a_signed_in_user(console: ConsoleServer) -> None:
    c = console.client()
    for page in PAGES:
        r = c.get(page, allow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), page
    r = c.get("/live/queue", headers={"HX-Request": "true"}, allow_redirects=False)
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/login"
    assert c.get("/login").status_code == 200
    assert c.get("/healthz").status_code == 200
    delivery = _queued(console)
    r = c.post(f"/posts/{delivery}/skip", csrf="anything", allow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert console.bot.store.delivery(delivery).state == "queued"  # nothing was done


def test_roles_are_checked_on_the_server_for_every_action(console: ConsoleServer) -> None:
    viewer, editor, admin = console.client("huda"), console.client("omar"), console.client("sara")
    first, second = [d.id for d in console.bot.store.deliveries(state="queued")][:2]
    for page in ["/", "/queue", "/approvals", "/history", "/accounts", f"/posts/{first}"]:
        assert viewer.get(page).status_code == 200, page
    assert viewer.get("/compose").status_code == 403
    assert viewer.get("/users").status_code == 403 and editor.get("/users").status_code == 403
    assert viewer.post(f"/posts/{first}/skip").status_code == 403
    assert console.bot.store.delivery(first).state == "queued"
    assert editor.post("/accounts/x/hold").status_code == 403
    assert not console.bot.store.account_state("x").held
    assert editor.post("/users", {"username": "new", "role": "admin", "password": "a-long-password"}).status_code == 403
    assert console.bot.store.user("new") is None
    # What each may do, it can.
    assert editor.post(f"/posts/{second}/skip").status_code == 200
    assert console.bot.store.delivery(second).state == "skipped"
    assert [e.by for e in console.ops.post_history(second)][-1] == "omar"  # who did it, in the post's history
    assert admin.post("/accounts/x/hold", {"reason": "مراجعة"}).status_code == 200
    assert console.bot.store.account_state("x").held
    assert "sara" in (console.bot.store.account_state("x").held_reason or "")
    assert admin.post("/accounts/x/release").status_code == 200
    assert not console.bot.store.account_state("x").held
    added = admin.post("/users", {"username": "layla", "role": "viewer", "password": "a-long-password"})
    assert added.status_code == 200
    assert console.bot.store.user("layla") is not None


def test_a_state_change_needs_the_sessions_csrf_token(console: ConsoleServer) -> None:
    editor = console.client("omar")
    other = console.client("sara")
    delivery = _queued(console)
    for token in ["", "forged", other.csrf()]:  # none, a made-up one, another session's
        r = editor.post(f"/posts/{delivery}/skip", csrf=token)
        assert r.status_code == 403, token
    r = editor.http.post(editor.base + f"/posts/{delivery}/skip", data={}, timeout=10)
    assert r.status_code == 403
    # A cross-site request is refused even with the token (a browser says where it came from).
    r = editor.post(f"/posts/{delivery}/skip", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    assert console.bot.store.delivery(delivery).state == "queued"
    # htmx sends the token as a header.
    r = editor.http.post(editor.base + f"/posts/{delivery}/skip", headers={"X-CSRF-Token": editor.csrf(),
                                                                            "HX-Request": "true"}, timeout=10)
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/queue"
    assert console.bot.store.delivery(delivery).state == "skipped"
    # The sign-in form has a token too.
    c = console.client()
    c.get("/login")
    r = c.http.post(c.base + "/login", data={"username": "omar", "password": PASSWORDS["omar"]}, timeout=10)
    assert r.status_code == 403 and "bot_session" not in c.http.cookies


def test_session_cookies_are_signed_httponly_samesite_and_secure_over_https(console: ConsoleServer) -> None:
    c = console.client()
    r = c.login("omar", PASSWORDS["omar"], allow_redirects=False)
    assert r.status_code == 303
    cookie = next(v for k, v in r.raw.headers.items() if k.lower() == "set-cookie" and "bot_session" in v)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" not in cookie
    token = c.http.cookies["bot_session"]
    assert token.count(".") >= 1  # signed
    # A tampered cookie signs nobody in.
    c.http.cookies.set("bot_session", token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert c.get("/", allow_redirects=False).status_code == 303
    # Behind a trusted proxy that says HTTPS, the cookie is Secure.
    c2 = console.client()
    form = c2.get("/login")
    from .kit.console import token_in

    r = c2.http.post(c2.base + "/login", data={"csrf": token_in(form.text), "username": "omar",
                                               "password": PASSWORDS["omar"]},
                     headers={"X-Forwarded-Proto": "https"}, allow_redirects=False, timeout=10)
    cookie = next(v for k, v in r.raw.headers.items() if k.lower() == "set-cookie" and "bot_session" in v)
    assert "Secure" in cookie


def test_sessions_end_at_sign_out_a_new_password_removal_and_idleness(console: ConsoleServer) -> None:
    c = console.client("omar")
    kept = c.http.cookies["bot_session"]
    assert c.post("/logout").url.endswith("/login")
    c.http.cookies.set("bot_session", kept)  # the old cookie, replayed: the session is over on the server
    assert c.get("/", allow_redirects=False).status_code == 303
    c = console.client("omar")
    console.ops.change_user("omar", password="a-new-long-password")
    assert c.get("/", allow_redirects=False).status_code == 303
    c = console.client("huda")
    console.ops.remove_user("huda")
    assert c.get("/", allow_redirects=False).status_code == 303
    c = console.client("sara")
    console.clock.advance(timedelta(hours=11))
    assert c.get("/").status_code == 200  # used: the idle time starts again
    console.clock.advance(timedelta(hours=11))
    assert c.get("/live/overview").status_code == 200  # a page refreshing itself is no use
    console.clock.advance(timedelta(hours=1, minutes=1))
    assert c.get("/", allow_redirects=False).status_code == 303
    c = console.client("sara")
    for _ in range(8):  # used every day, a session still ends a week after it began
        console.clock.advance(timedelta(hours=23))
        c.get("/")
    assert c.get("/", allow_redirects=False).status_code == 303
    # Signing in ends the session the browser had (one planted in it is never the one signed in).
    planted = console.client("sara").http.cookies["bot_session"]
    c = console.client()
    c.http.cookies.set("bot_session", planted)
    form = c.http.get(c.base + "/login?next=/", timeout=10, allow_redirects=False)
    assert form.status_code == 303  # a browser signed in is sent on; sign in from a fresh form instead
    fresh = console.client()
    page = fresh.get("/login")
    fresh.http.cookies.set("bot_session", planted)
    from .kit.console import token_in

    r = fresh.http.post(fresh.base + "/login", data={"csrf": token_in(page.text), "username": "sara",
                                                     "password": PASSWORDS["sara"]}, timeout=10)
    assert r.status_code == 200 and not r.url.endswith("/login")
    c2 = console.client()
    c2.http.cookies.set("bot_session", planted)
    assert c2.get("/", allow_redirects=False).status_code == 303


def test_sign_in_is_throttled_per_name_and_address(console: ConsoleServer) -> None:
    c = console.client()
    for _ in range(5):
        r = c.login("omar", "wrong-password-!")
        assert r.status_code == 401
        assert "bot_session" not in c.http.cookies
    r = c.login("omar", PASSWORDS["omar"])
    assert r.status_code == 429  # even the right password, until the window has passed
    assert "bot_session" not in c.http.cookies
    # Another address (as the trusted proxy says) is not held back by these failures.
    other = console.client()
    r = other.login("omar", PASSWORDS["omar"], headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 200 and "bot_session" in other.http.cookies
    # Nor is another name from the same address.
    assert console.client().login("sara", PASSWORDS["sara"]).status_code == 200
    console.clock.advance(timedelta(minutes=16))
    assert c.login("omar", PASSWORDS["omar"]).status_code == 200


def test_concurrent_tries_cannot_slip_past_the_throttle(console: ConsoleServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    clients = [console.client() for _ in range(20)]
    for c in clients:
        c.get("/login")  # each has its sign-in form's token already
    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda c: c.login("omar", "wrong-password-!").status_code, clients))
    assert codes.count(401) <= 5 and set(codes) <= {401, 429, 503}, codes  # at most five passwords checked


def test_an_unknown_name_and_a_wrong_password_answer_alike(console: ConsoleServer) -> None:
    a = console.client().login("nobody", "wrong-password-!")
    b = console.client().login("omar", "wrong-password-!")
    assert a.status_code == b.status_code == 401
    assert re.sub(r'value="[^"]+"', "", a.text) == re.sub(r'value="[^"]+"', "", b.text)


def test_sign_in_goes_back_only_to_the_consoles_own_pages(console: ConsoleServer) -> None:
    for target, expected in [("/history", "/history"), ("//evil.example/", "/"), ("https://evil.example/", "/"),
                             ("/\\evil.example", "/")]:
        c = console.client()
        form = c.get("/login", params={"next": target})
        from .kit.console import token_in

        r = c.http.post(c.base + "/login", data={"csrf": token_in(form.text), "username": "omar",
                                                 "password": PASSWORDS["omar"], "next": target},
                        allow_redirects=False, timeout=10)
        assert r.status_code == 303 and r.headers["location"] == expected, target


def test_every_answer_has_a_strict_csp_and_no_inline_script(console: ConsoleServer) -> None:
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
    admin = console.client("sara")
    delivery = _queued(console)
    for path in [*PAGES[:-4], f"/posts/{delivery}", f"/posts/{delivery}/edit", "/login", "/healthz",
                 "/static/console.css", "/nowhere"]:
        r = admin.get(path)
        assert r.headers["Content-Security-Policy"] == CSP, path
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        if r.headers.get("content-type", "").startswith("text/html"):
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), path  # every script is a file
            assert not re.search(r"\son[a-z]+\s*=", r.text), path  # no inline event handlers
            assert not re.search(r"\sstyle\s*=", r.text), path  # no inline style
            assert '<html lang="ar" dir="rtl">' in r.text, path


def test_users_from_the_command_line(tmp_path: Path, feed_server: FeedServer, run_bot: object) -> None:
    import subprocess
    import sys

    from .kit.paths import ROOT

    config = with_console(sample_site(tmp_path, feed_server))

    def bot(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args, "--config", str(config)], input=stdin,
                              capture_output=True, text=True, cwd=ROOT, timeout=60)

    r = bot("user", "add", "سارة", "--role", "admin", stdin="kalimat-sirr-1\n")
    assert r.returncode == 0, r.stderr
    assert "added" in r.stdout
    r = bot("user", "add", "سارة", "--role", "editor", stdin="kalimat-sirr-1\n")
    assert r.returncode == 2 and "already" in r.stderr and "Traceback" not in r.stderr
    r = bot("user", "add", "omar", "--role", "editor", stdin="short\n")
    assert r.returncode == 2 and "10 to 1024" in r.stderr
    r = bot("user", "add", "omar", "--role", "boss", stdin="kalimat-sirr-2\n")
    assert r.returncode == 2
    assert bot("user", "add", "omar", "--role", "editor", stdin="kalimat-sirr-2\n").returncode == 0
    listed = bot("user", "list")
    assert listed.returncode == 0 and listed.stdout.splitlines() == ["omar\teditor\tlocal", "سارة\tadmin\tlocal"]
    assert bot("user", "passwd", "omar", stdin="a-newer-password\n").returncode == 0
    r = bot("user", "passwd", "nobody", stdin="a-newer-password\n")
    assert r.returncode == 2 and "no user" in r.stderr
    assert bot("user", "remove", "omar").returncode == 0
    assert bot("user", "list").stdout.splitlines() == ["سارة\tadmin\tlocal"]
    # The password is stored hashed with argon2id, never as given.
    from bot.config import load_config
    from bot.core import Bot

    b = Bot.open(load_config(config, secrets=False))
    try:
        user = b.store.user("سارة")
        assert user is not None and user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$") and "kalimat" not in user.password_hash
    finally:
        b.close()


def test_many_names_from_one_address_are_throttled_too(console: ConsoleServer) -> None:
    from bot.operations.users import PER_ADDRESS

    spray = {"X-Forwarded-For": "198.51.100.7"}
    for n in range(PER_ADDRESS):
        assert console.client().login(f"guess{n}", "wrong-password-!", headers=spray).status_code == 401
    assert console.client().login("omar", PASSWORDS["omar"], headers=spray).status_code == 429
    assert console.client().login("omar", PASSWORDS["omar"]).status_code == 200  # another address is not


def test_a_new_role_ends_the_sessions_and_the_store_keeps_no_usable_token(console: ConsoleServer) -> None:
    import sqlalchemy as sa

    from bot.store.tables import console_sessions

    c = console.client("omar")
    token = c.http.cookies["bot_session"].split(".")[0]
    with console.bot.store.engine.connect() as conn:
        kept = [r.id for r in conn.execute(sa.select(console_sessions.c.id))]
    assert kept and token not in kept and all(len(k) == 64 for k in kept)  # only SHA-256 hashes
    console.ops.change_user("omar", role="viewer")
    assert c.get("/", allow_redirects=False).status_code == 303
    c = console.client("omar")
    assert c.get("/compose").status_code == 403  # signed in again: a viewer now
