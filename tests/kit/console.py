"""The console under test: ``ConsoleServer`` (the console of a Bot, served over a real socket by the bot's own
HTTP side, in this process, on a clock the test moves) and ``Browser``-less ``Client`` (a requests session that
signs in through the form and sends each form's CSRF token, as a person's browser would)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import requests
import yaml

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.operations import Operations
from bot.web import WebSide
from bot.web.app import Hooks, build_app
from bot.web.console import Console

#: The console's session-signing key in tests (as ``${BOT_CONSOLE_SECRET}`` would give it).
SECRET = "test-console-secret-3f9a1c7e5b2d4f6a8c0e"
PASSWORDS = {"sara": "kalimat-sirr-1", "omar": "kalimat-sirr-2", "huda": "kalimat-sirr-3"}
ROLES = {"sara": "admin", "omar": "editor", "huda": "viewer"}


def with_console(config: Path, **settings: Any) -> Path:
    """Add a ``console:`` section (and ``settings`` of it) to a config file written by ``write_config``; the
    site's short links are made without asking its pages (the tests' site is not reachable)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["console"] = {"secret_key": SECRET, **settings}
    data["site"].setdefault("short_link", {"kind": "wordpress", "page_lookup": False})
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


class ConsoleServer:
    """A Bot's console on 127.0.0.1 (the same app ``bot run`` serves), with the three users of :data:`ROLES`."""

    def __init__(self, config: Path, clock: ManualClock, users: bool = True) -> None:
        self.clock = clock
        self.bot = Bot.open(load_config(config), clock=clock)
        self.ops = Operations(self.bot)
        if users:
            for name, role in ROLES.items():
                self.ops.add_user(name, role, PASSWORDS[name])
        self.web = WebSide("127.0.0.1", 0, build_app(Hooks(lambda: (True, {"ok": True})), Console(lambda: self.ops)))
        self.web.start()
        self.base = f"http://127.0.0.1:{self.web.port}"

    def client(self, name: str | None = None) -> Client:
        c = Client(self.base)
        if name is not None:
            r = c.login(name, PASSWORDS[name])
            assert r.status_code == 200 and "/login" not in r.url, (r.status_code, r.text[:300])
        return c

    def close(self) -> None:
        self.web.stop()
        self.bot.close()


class Client:
    """A person's browser, without the browser: cookies kept, each form's CSRF token sent."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: str | None = None, **kw: Any,
             ) -> requests.Response:
        """POST a form; its CSRF token is this session's (read from a page) unless ``csrf`` is given."""
        fields = dict(data or {})
        fields.setdefault("csrf", self.csrf() if csrf is None else csrf)
        return self.http.post(self.base + path, data=fields, timeout=60, **kw)

    def csrf(self) -> str:
        return token_in(self.get("/").text)

    def login(self, name: str, password: str, **kw: Any) -> requests.Response:
        form = self.get("/login")
        return self.http.post(self.base + "/login", data={"csrf": token_in(form.text), "username": name,
                                                          "password": password}, timeout=30, **kw)


def token_in(page: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return html.unescape(found.group(1))
