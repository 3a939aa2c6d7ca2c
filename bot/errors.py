"""One error tree for the whole bot.

::

    BotError
    ├── ConfigError        a person's mistake in the config file (exit status 2)
    ├── UsageError         a person's mistake on the command line (exit status 2)
    ├── FeedError          a feed could not be fetched or parsed; the feed is retried with backoff
    ├── StoreError         the database cannot be opened or used
    ├── ShortenError       a shortener gave no short link: the full link is used
    ├── WordPressError     the REST API gave no post: the feed's labels are used
    ├── MediaError         an article's image could not be had: the post goes without it
    │   └── NoImage        the article has none (not a failure)
    ├── ComposeError       no post fits the platform's rules; the delivery fails with this reason
    └── PlatformError      a publisher's call did not post; the subclass says what happens next
        ├── Unavailable    the request surely never reached the platform: retried later with backoff
        │   └── MaybeSent  it may have (a read timeout, a broken answer, a gateway's 5xx): resent only where
        │                  a resend cannot post twice, else the delivery is in doubt for the operator
        ├── RateLimited    the platform said "not before ``until``": no request for the account before it
        ├── Rejected       this post is refused (validation): failed, with the platform's own message
        │   └── Gone       the post is not on the platform any more (deleted there): nothing to edit or delete
        ├── Duplicate      the platform already holds this text: counted as sent
        └── AuthFailed     the account, not the post, is the problem: the account is held

The cause is always chained (``raise ... from exc``). Messages never contain secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class BotError(Exception):
    """Root of every error the bot raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file."""

    path: str  #: key path such as ``accounts[2].template`` ("" for the whole file)
    message: str  #: what is wrong and what is allowed
    line: int | None = None  #: 1-based line in the file, where known


class ConfigError(BotError, ValueError):
    """The config file cannot be used as it is."""

    def __init__(self, file: str, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = []
        for p in self.problems:
            where = f"{self.file}:{p.line}" if p.line else self.file
            key = f" {p.path}:" if p.path else ""
            lines.append(f"{where}:{key} {p.message}")
        head = "config error" if len(lines) == 1 else f"{len(lines)} config errors"
        return f"{head}\n  " + "\n  ".join(lines)


class UsageError(BotError, ValueError):
    """Bad command-line arguments."""


class FeedError(BotError):
    """A feed could not be fetched or parsed."""

    def __init__(self, url: str, message: str, status: int | None = None) -> None:
        self.url = url
        self.message = message
        self.status = status  #: the HTTP status, when the server answered with one other than 200 or 304
        super().__init__(f"{url}: {message}")


class StoreError(BotError):
    """The database cannot be opened or used."""


class ShortenError(BotError):
    """A shortener did not give a short link (the full link is used instead)."""


class WordPressError(BotError):
    """WordPress's REST API did not give the post (the feed's labels are used instead)."""


class PostNotThere(WordPressError):
    """The site answered, and will answer so again: no such post (404), or the credentials refused (401/403)."""


class SayPending(WordPressError):
    """The editor's say could not be read yet (the site's REST API failed): the post waits and asks again, for a
    while (``bot.composer.SAY_WAIT``), rather than go against what the editor may have chosen."""


class MediaError(BotError):
    """An article's image could not be found, fetched or uploaded (the post goes without it)."""


class NoImage(MediaError):
    """The article has no image to find (not a failure: most posts go without one)."""


class ComposeError(BotError, ValueError):
    """No post that keeps the link whole and at least one word of the title fits."""


class PlatformError(BotError):
    """A publisher's call did not post. ``message`` is the platform's own words where it gave any."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Unavailable(PlatformError):
    """Network error, timeout or 5xx: try again later."""

    def __init__(self, message: str, after: datetime | None = None) -> None:
        super().__init__(message)
        self.after = after  #: the platform's own "retry after", when it gave one


class MaybeSent(Unavailable):
    """The request may have reached the platform without its answer reaching the bot (a read timeout, a
    connection broken mid-answer, a gateway's 5xx after the body went out). Where the platform makes a
    resend safe it is retried like :class:`Unavailable`; elsewhere the delivery is in doubt."""

    def __init__(self, message: str, check: str | None = None) -> None:
        super().__init__(message)
        self.check = check  #: where a person can look whether it was posted (the channel, the page)


class RateLimited(PlatformError):
    """No request for this account before ``until``."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class Rejected(PlatformError):
    """This post is refused; retrying the same text cannot help."""


class Gone(Rejected):
    """The post asked for is not on the platform any more (deleted there, by a person or the platform): a delete
    has nothing left to do, an edit nothing to change."""


class Duplicate(PlatformError):
    """The platform already holds this post."""

    def __init__(self, message: str, remote_id: str | None = None) -> None:
        super().__init__(message)
        self.remote_id = remote_id


class AuthFailed(PlatformError):
    """The account cannot post (revoked token, removed from the channel): hold the account."""
