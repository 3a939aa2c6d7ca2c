"""The console's languages: Arabic first, English second, every label from a gettext catalogue.

The catalogues are ``bot/web/locale/<lang>/LC_MESSAGES/messages.po`` (message ids in English; Babel reads them
when the console starts: no build step). Times are shown in the site's timezone, in the reader's language.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from importlib import resources

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("ar", "en")
#: Each language's writing direction.
DIRECTION = {"ar": "rtl", "en": "ltr"}


@cache
def catalogue(lang: str) -> Translations:
    """The translations of ``lang`` (one of :data:`LANGUAGES`), read once from its ``.po`` file."""
    source = resources.files("bot.web").joinpath("locale", lang, "LC_MESSAGES", "messages.po")
    with source.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


@dataclass(frozen=True)
class Speaker:
    """What a page needs to speak to its reader: the language, its direction, words and times."""

    lang: str
    tz: tzinfo  #: the site's

    @property
    def dir(self) -> str:
        return DIRECTION[self.lang]

    def gettext(self, message: str, **values: object) -> str:
        """A label in the reader's language; ``values`` fill its ``{name}`` fields after translation."""
        text = catalogue(self.lang).gettext(message)
        return text.format(**values) if values else text

    def who(self, by: str) -> str:
        """Who or what asked, in the reader's language: a machine cause (:data:`CAUSES`) translated, a person's
        name as it is."""
        return self.gettext(by) if by in CAUSES else by

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = catalogue(self.lang).ngettext(singular, plural, n)
        return text.format(n=n, **values)

    def time(self, when: datetime | str | None, form: str = "medium") -> str:
        """A time in the site's timezone, as the reader's language writes it ("" for none)."""
        if when is None or when == "":
            return ""
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        return format_datetime(when, form, tzinfo=self.tz, locale=self.lang)

    def input_time(self, when: datetime | None) -> str:
        """A time as a ``datetime-local`` field holds it, in the site's timezone."""
        return "" if when is None else when.astimezone(self.tz).strftime("%Y-%m-%dT%H:%M")


def N_(message: str) -> str:
    """Marks a word that reaches a page as data (a state, a role, an event) for the catalogue's extraction."""
    return message


#: Words that come to the pages as data, translated there with ``_(word)``.
DATA_WORDS = (
    # A delivery's states.
    N_("queued"), N_("sending"), N_("sent"), N_("failed"), N_("skipped"), N_("in_doubt"), N_("deleted"),
    N_("awaiting_approval"),
    # The events of a delivery's history.
    N_("post"), N_("retry"), N_("retry for approval"), N_("skip"), N_("unpost"), N_("edit"), N_("approve"),
    N_("reject"), N_("send now"),
    N_("schedule"),
    # … a correction or a withdrawal of the article on the site, and what became of its posts out.
    N_("edited on site"), N_("corrected"), N_("correction failed"), N_("repost"), N_("withdrawn"), N_("withdraw"),
    N_("delete failed"), N_("published again"), N_("delete asked"),
    # Roles, and where a user signs in.
    N_("viewer"), N_("editor"), N_("admin"), N_("removed"), N_("local"), N_("wordpress"),
    # A feed's health.
    N_("ok"), N_("failing"), N_("never polled"),
    # What became of a post made by hand.
    N_("dry run"), N_("does not fit"), N_("already posted"), N_("waiting"), N_("scheduled"), N_("retry_later"),
    N_("in doubt"), N_("held"), N_("duplicate"), N_("rate_limited"), N_("budget"), N_("lost"),
)

#: Who or what asked, where no person did (a post's history names them as ``by``): shown translated, while a
#: person's name is shown as it is (a user's name has no spaces, so none of these is ever one).
CAUSES = frozenset((
    N_("the site"), N_("the site (the plugin's notice)"), N_("the site (the REST API's check)"),
    N_("the feed (a corrected headline)"), N_("the editor's text in the plugin"), N_("the bot"),
))
