"""The console's people: users and roles, their sessions, and failed sign-ins (for throttling)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.store.engine import StoreBase
from bot.store.tables import console_sessions, login_failures, users

#: How often a session's last use is written (a page load within this of the last write writes nothing).
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class User:
    """A person who signs in to the console."""

    name: str  #: the sign-in name
    role: str  #: viewer | editor | admin
    source: str  #: local (a password here) | wordpress (checked by the site)
    password_hash: str | None  #: argon2id; None for a WordPress sign-in
    created_at: datetime


class UsersMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for the console's users, sessions and failed sign-ins."""

    def user(self, name: str) -> User | None:
        with self.light.connect() as c:
            row = c.execute(sa.select(users).where(users.c.name == name)).first()
        return None if row is None else _user(row)

    def users(self) -> list[User]:
        with self.engine.connect() as c:
            return [_user(r) for r in c.execute(sa.select(users).order_by(users.c.name))]

    def put_user(self, name: str, role: str, password_hash: str | None, source: str, now: datetime, *,
                 create: bool) -> bool:
        """Add a user (``create``; False when the name is taken) or change one (False when there is none).
        A changed user's sessions end: a new password or role is asked for at the next sign-in."""
        with self.engine.begin() as c:
            exists = c.execute(sa.select(users.c.name).where(users.c.name == name).with_for_update()).first()
            if create == (exists is not None):
                return False
            values = {"role": role, "password_hash": password_hash, "source": source, "updated_at": now}
            if create:
                c.execute(users.insert().values(name=name, created_at=now, **values))
            else:
                c.execute(users.update().where(users.c.name == name).values(**values))
                c.execute(console_sessions.delete().where(console_sessions.c.user_name == name))
            return True

    def remove_user(self, name: str) -> bool:
        """Remove a user and end its sessions; False when there is none."""
        with self.engine.begin() as c:
            c.execute(console_sessions.delete().where(console_sessions.c.user_name == name))
            return bool(c.execute(users.delete().where(users.c.name == name)).rowcount)

    # Sessions: the cookie holds a random token; the store keeps its hash, so a copy of the database signs
    # nobody in.

    def add_session(self, token_hash: str, user_name: str, csrf: str, now: datetime) -> None:
        with self.engine.begin() as c:
            c.execute(console_sessions.insert().values(id=token_hash, user_name=user_name, csrf=csrf,
                                                       created_at=now, seen_at=now))

    def session(self, token_hash: str, now: datetime, idle: timedelta, longest: timedelta, *,
                touch: bool = True) -> tuple[User, str] | None:
        """The signed-in user and the session's CSRF token, or None (no such session, ended, idle for longer
        than ``idle``, or begun longer than ``longest`` ago). Notes the use (``touch``: a person's request, not
        a page refreshing itself), at most every :data:`SEEN_EVERY`."""
        with self.light.connect() as c:
            row = c.execute(sa.select(users, console_sessions.c.csrf, console_sessions.c.seen_at,
                                      console_sessions.c.created_at.label("began"))
                            .join(console_sessions, console_sessions.c.user_name == users.c.name)
                            .where(console_sessions.c.id == token_hash)).first()
        if row is None or row.seen_at < now - idle or row.began < now - longest:
            return None
        if touch and row.seen_at < now - SEEN_EVERY:
            with self.engine.begin() as c:
                c.execute(console_sessions.update().where(console_sessions.c.id == token_hash).values(seen_at=now))
        return _user(row), str(row.csrf)

    def end_session(self, token_hash: str) -> None:
        with self.engine.begin() as c:
            c.execute(console_sessions.delete().where(console_sessions.c.id == token_hash))

    def prune_sessions(self, before: datetime) -> int:
        """Forget sessions unused since ``before`` and failed sign-ins older than it."""
        with self.engine.begin() as c:
            c.execute(login_failures.delete().where(login_failures.c.at < before))
            return int(c.execute(console_sessions.delete().where(console_sessions.c.seen_at < before)).rowcount or 0)

    # Failed sign-ins.

    def login_failed(self, user_name: str, address: str, now: datetime) -> None:
        with self.engine.begin() as c:
            c.execute(login_failures.insert().values(user_name=user_name[:64], address=address[:64], at=now))

    def login_failures(self, user_name: str, address: str, since: datetime) -> tuple[int, int, datetime | None]:
        """Failed sign-ins since ``since``: for this name from this address, from this address under any name,
        and the oldest of the first kind (the throttle lifts a window after it)."""
        with self.light.connect() as c:
            recent = sa.and_(login_failures.c.address == address[:64], login_failures.c.at >= since)
            pair = c.execute(sa.select(sa.func.count(), sa.func.min(login_failures.c.at)).where(
                recent, login_failures.c.user_name == user_name[:64])).one()
            anyone = c.execute(sa.select(sa.func.count()).where(recent)).scalar_one()
        oldest = pair[1]
        return int(pair[0]), int(anyone), oldest

    def login_succeeded(self, user_name: str, address: str) -> None:
        """A right password clears this name's failures from this address."""
        with self.engine.begin() as c:
            c.execute(login_failures.delete().where(login_failures.c.user_name == user_name[:64],
                                                    login_failures.c.address == address[:64]))


def _user(row: sa.Row) -> User:  # type: ignore[type-arg]
    return User(row.name, row.role, row.source, row.password_hash, row.created_at)
