"""The console's people, as operator actions: add, change, remove and list users (``bot user``), and sign-in
(a password checked against its argon2id hash, or a WordPress application password checked by the site),
throttled per name and address.

Roles, from least to most: ``viewer`` reads; ``editor`` also edits, approves, posts, retries and skips;
``admin`` also holds and releases accounts, deletes posts and manages users.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import re
import threading
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
#: argon2id at OWASP's recommended minimum (19 MiB, two passes, one lane).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: Checked when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY = _hasher.hash("not a password of anyone's")
#: WordPress's roles, as the console's; any other (a subscriber: anyone who may register) signs in to nothing.
WORDPRESS_ROLES = {"administrator": "admin", "editor": "editor", "author": "viewer", "contributor": "viewer"}
#: A removed WordPress user's role: the row stays, so the next WordPress sign-in does not make them again.
REMOVED = "removed"
#: The most of a WordPress answer read.
MAX_ANSWER = 64 * 1024
#: Passwords checked at once (each argon2id check takes 19 MiB and a core for some 20 ms).
CHECKS_AT_ONCE = 4
_checking = threading.BoundedSemaphore(CHECKS_AT_ONCE)


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may (viewer < editor < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Refused(Exception):
    """A sign-in that did not succeed: a wrong name or password, or too many tries (``until``)."""

    reason: str  #: wrong | throttled | busy (too many checks at once)
    until: datetime | None = None


def _good_name(name: str) -> bool:
    return bool(NAME.match(name)) and name.strip(".") != ""


def address_key(address: str) -> str:
    """Where sign-ins come from, as the throttle counts them: an IPv4 address, or an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _check_name(name: str) -> None:
    if not _good_name(name):
        raise UsageError(f"a user's name is 1 to 64 letters, digits or ._@-, not only dots (not {name[:70]!r})")


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
        """Remove a user (its sessions end). A WordPress user's row stays, as ``removed``, so that its next
        WordPress sign-in does not make it again (giving it a role again lets it back in)."""
        user = self._user(name)
        if user.source == "wordpress":
            self.bot.store.put_user(name, REMOVED, None, "wordpress", self.bot.clock.now(), create=False)
        elif not self.bot.store.remove_user(name):
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
        any names; IPv6 addresses grouped by /64), every try is refused until the window has passed, right
        password or not. Each try is counted before its password is checked (concurrent tries cannot slip past
        the count), and at most :data:`CHECKS_AT_ONCE` passwords are checked at once (more: ``busy``)."""
        config = self.bot.config.console
        assert config is not None
        now = self.bot.clock.now()
        where = address_key(address)
        store = self.bot.store
        store.login_failed(name, where, now)  # counted first; cleared below when the password is right
        pair, anyone, oldest = store.login_failures(name, where, now - config.login_window)
        if pair > config.login_failures or anyone > PER_ADDRESS:
            log.warning("sign-in as %r from %s refused: %d failures in %s", name[:64], address, max(pair, anyone) - 1,
                        config.login_window)
            raise Refused("throttled", (oldest or now) + config.login_window)
        if not _checking.acquire(timeout=5):
            raise Refused("busy")
        try:
            user = self._check(name, password)
        finally:
            _checking.release()
        if user is None:
            log.warning("sign-in as %r from %s failed", name[:64], address)
            raise Refused("wrong")
        store.login_succeeded(name, where)
        log.info("%s signed in to the console from %s", user.name, address)
        return user

    def _check(self, name: str, password: str) -> User | None:
        config = self.bot.config.console
        assert config is not None
        user = self.bot.store.user(name) if _good_name(name) else None
        if user is not None and user.role not in ROLES:
            user = None  # removed (a WordPress user's tombstone): never signs in again, by any way
        elif user is not None and user.password_hash is not None:
            try:
                return user if _hasher.verify(user.password_hash, password[:MAX_PASSWORD]) else None
            except (VerificationError, InvalidHashError):
                return None
        elif config.wordpress_login and _good_name(name) and (user is None or user.source == "wordpress"):
            return self._wordpress(name, password)
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY, password[:MAX_PASSWORD])  # as long as a wrong password takes
        return None

    def _wordpress(self, name: str, password: str) -> User | None:
        """Ask the site's REST API who these WordPress credentials are (an application password); the user,
        recorded here so its sessions have someone to belong to, with its role: WordPress's mapped
        (:data:`WORDPRESS_ROLES`; a subscriber or a role not listed is refused), or the lower of that and the
        role an admin set here. None when refused."""
        url = self.bot.config.site.url.rstrip("/") + "/wp-json/wp/v2/users/me?context=edit"
        try:
            resp = self.bot.session("wordpress-login").get(url, auth=(name, password), timeout=10,
                                                           allow_redirects=False, stream=True,
                                                           headers={"User-Agent": self.bot.config.agent})
            raw = resp.raw.read(MAX_ANSWER + 1, decode_content=True) if resp.status_code == 200 else b""
            resp.close()
            if resp.status_code != 200 or len(raw) > MAX_ANSWER:
                return None
            body = json.loads(raw)
        except (requests.RequestException, ValueError, OSError) as exc:
            log.warning("WordPress sign-in for %r: the site did not answer usably: %s", name, exc)
            return None
        said = body.get("username") if isinstance(body, dict) else None
        roles = body.get("roles") if isinstance(body, dict) else None
        if not isinstance(said, str) or said.casefold() != name.casefold() or not isinstance(roles, list):
            return None  # it must say who it is, and be the one asked for
        mapped = [WORDPRESS_ROLES[r] for r in roles if isinstance(r, str) and r in WORDPRESS_ROLES]
        if not mapped:
            log.warning("WordPress sign-in for %r refused: its roles (%s) give no console role", name,
                        ", ".join(map(str, roles))[:100])
            return None
        role = max(mapped, key=ROLES.index)
        now = self.bot.clock.now()
        store = self.bot.store
        name = said if _good_name(said) else name  # WordPress's own spelling of the name (its logins ignore case)
        known = store.user(name)
        if known is None:
            if not store.put_user(name, role, None, "wordpress", now, create=True):
                return None  # made meanwhile (by an admin, or another sign-in): try again
        elif known.source != "wordpress" or known.role not in ROLES:
            return None  # a local user of that name is never taken over; a removed one stays out
        elif ROLES.index(role) < ROLES.index(known.role):
            store.put_user(name, role, None, "wordpress", now, create=False)  # WordPress demoted them
        return store.user(name)
