"""The console's people, as operator actions: add, change, remove and list users (``bot user``), and sign-in
(a password checked against its argon2id hash, or a WordPress application password checked by the site),
throttled per name and address.

Roles, from least to most: ``viewer`` reads; ``editor`` also edits, approves, posts, retries and skips;
``admin`` also holds and releases accounts, deletes posts and manages users.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime

import requests
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.core import Bot
from bot.errors import UsageError
from bot.store import User

log = logging.getLogger("bot.console")

ROLES = ("viewer", "editor", "admin")
#: A sign-in name: letters (any script), digits and ``._@-``, at most 64.
NAME = re.compile(r"^[\w.@-]{1,64}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
#: How many failed sign-ins from one address, under any names, stop it too (per ``login_window``).
PER_ADDRESS = 50
_hasher = PasswordHasher()
#: Checked when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY = _hasher.hash("not a password of anyone's")
#: WordPress's roles, as the console's.
WORDPRESS_ROLES = {"administrator": "admin", "editor": "editor"}


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may (viewer < editor < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Refused(Exception):
    """A sign-in that did not succeed: a wrong name or password, or too many tries (``until``)."""

    reason: str  #: wrong | throttled
    until: datetime | None = None


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise UsageError(f"a user's name is 1 to 64 letters, digits or ._@- (not {name[:70]!r})")


def _check_password(password: str) -> None:
    if not (MIN_PASSWORD <= len(password) <= MAX_PASSWORD):
        raise UsageError(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UsageError(f"no role {role!r}; roles: {', '.join(ROLES)}")


class UsersOperations:
    """The :class:`~bot.operations.Operations` part for users and sign-in."""

    bot: Bot

    def add_user(self, name: str, role: str, password: str) -> str:
        _check_name(name)
        _check_role(role)
        _check_password(password)
        if not self.bot.store.put_user(name, role, _hasher.hash(password), "local", self.bot.clock.now(),
                                       create=True):
            raise UsageError(f"there is a user {name!r} already (bot user passwd {name} changes the password)")
        return f"user {name} added ({role})"

    def change_user(self, name: str, *, password: str | None = None, role: str | None = None) -> str:
        """A new password or role (the user's sessions end)."""
        user = self._user(name)
        if password is not None:
            _check_password(password)
        if role is not None:
            _check_role(role)
        hashed = _hasher.hash(password) if password is not None else user.password_hash
        source = "local" if password is not None else user.source
        self.bot.store.put_user(name, role or user.role, hashed, source, self.bot.clock.now(), create=False)
        return f"user {name}: " + ", ".join(w for w, v in (("password changed", password), (f"now {role}", role)) if v)

    def remove_user(self, name: str) -> str:
        if not self.bot.store.remove_user(name):
            raise UsageError(f"there is no user {name!r} (bot user list shows them)")
        return f"user {name} removed"

    def list_users(self) -> list[User]:
        return self.bot.store.users()

    def _user(self, name: str) -> User:
        user = self.bot.store.user(name)
        if user is None:
            raise UsageError(f"there is no user {name!r} (bot user list shows them)")
        return user

    def sign_in(self, name: str, password: str, address: str) -> User:
        """The user these credentials name, or :class:`Refused`. After ``console.login_failures`` failures for
        a name from an address within ``console.login_window`` (or :data:`PER_ADDRESS` from an address under
        any names), every try is refused until the window has passed, right password or not."""
        config = self.bot.config.console
        assert config is not None
        now = self.bot.clock.now()
        pair, anyone, oldest = self.bot.store.login_failures(name, address, now - config.login_window)
        if pair >= config.login_failures or anyone >= PER_ADDRESS:
            log.warning("sign-in as %r from %s refused: %d failures in %s", name[:64], address, max(pair, anyone),
                        config.login_window)
            raise Refused("throttled", (oldest or now) + config.login_window)
        user = self.bot.store.user(name) if NAME.match(name) else None
        ok = False
        if user is not None and user.password_hash is not None:
            try:
                ok = _hasher.verify(user.password_hash, password[:MAX_PASSWORD])
            except (VerificationError, InvalidHashError):
                ok = False
        elif user is None or user.source == "wordpress":
            if config.wordpress_login and NAME.match(name):
                user = self._wordpress(name, password)
                ok = user is not None
            else:
                with contextlib.suppress(VerificationError):
                    _hasher.verify(_DUMMY, password[:MAX_PASSWORD])
        if not ok or user is None:
            self.bot.store.login_failed(name, address, now)
            log.warning("sign-in as %r from %s failed", name[:64], address)
            raise Refused("wrong")
        self.bot.store.login_succeeded(name, address)
        log.info("%s signed in to the console from %s", user.name, address)
        return user

    def _wordpress(self, name: str, password: str) -> User | None:
        """Ask the site's REST API who these WordPress credentials are (an application password); the user,
        with its role mapped, recorded here so its sessions have someone to belong to. None when refused."""
        url = self.bot.config.site.url.rstrip("/") + "/wp-json/wp/v2/users/me?context=edit"
        try:
            resp = self.bot.session("wordpress-login").get(url, auth=(name, password), timeout=10,
                                                           allow_redirects=False,
                                                           headers={"User-Agent": self.bot.config.agent})
            if resp.status_code != 200:
                return None
            body = resp.json()
            roles = body.get("roles") if isinstance(body, dict) else None
            if not isinstance(roles, list) or body.get("username", body.get("slug")) not in (name, None):
                return None
        except (requests.RequestException, ValueError) as exc:
            log.warning("WordPress sign-in for %r: the site did not answer usably: %s", name, exc)
            return None
        role = next((WORDPRESS_ROLES[r] for r in ("administrator", "editor") if r in roles), "viewer")
        now = self.bot.clock.now()
        store = self.bot.store
        if not store.put_user(name, role, None, "wordpress", now, create=True):
            existing = store.user(name)
            if existing is None or existing.source != "wordpress":
                return None  # a local user of that name: never taken over by a WordPress login
            if existing.role != role:
                store.put_user(name, role, None, "wordpress", now, create=False)
        return store.user(name)
