"""What editors do to posts that wait, and what they read back: approve or reject a post that awaits approval,
send a queued one now, put their own text on a waiting post (checked against the platform's length rule, as the
daemon counts it), see the text it would go with, measure a text for a live counter, and search the history. A
part of :class:`~bot.operations.Operations`.

An editor's text is frozen on the delivery and sent exactly as it is. It may replace a text only where no send
may have taken the old one to the platform: never on a post being sent, sent, or in doubt, nor on one queued
again after a send whose answer never came (``maybe_posted``): there a resend must carry the same text, so that
the platform's duplicate check or idempotency key still recognises it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.compose.length import unique_links
from bot.core import Bot
from bot.dispatch import Outcome
from bot.errors import UsageError
from bot.lifecycle import APPROVE, EDITABLE, REJECT, Transition
from bot.models import DeliveryState
from bot.pricing import MICRO, has_url, post_cost
from bot.store import DeliveryRow, Event

#: The most rows one page of the history holds.
MAX_PAGE = 500


@dataclass(frozen=True)
class TextMeasure:
    """A text as an account's platform will count it (the console's live counter; an edit's check)."""

    length: int  #: as the platform counts it (X: weighted, links as 23)
    limit: int | None  #: the platform's maximum (None: none)
    fits: bool  #: the platform takes it (not empty, within its length, and its bytes where it counts them)
    cost_usd: float | None  #: what posting it costs (X's pay-per-use: with a URL or not); None: not charged
    has_link: bool  #: it holds a URL, as twitter-text finds one (X charges a post with one more)


def text_token(text: str | None) -> str:
    """What an editor saw of a post's text (its own text, or none yet), as a form keeps it: a save or an
    approval made from a page that showed another text than the post has now is refused, never lost."""
    import hashlib

    return hashlib.sha256(b"\0" if text is None else text.encode()).hexdigest()[:32]


def editors_text(text: str) -> str:
    """An editor's text as it is kept and sent: without the white space around it."""
    return text.strip()


class EditingMixin:
    """The operator actions on waiting posts' approval and text, and the history; over ``self.bot``."""

    bot: Bot
    #: The console's: instead of sending here, tell the daemon to send now (its own dispatch pass, after a
    #: release's reload: one sender per process). None: send here (the commands).
    wake: Callable[[], None] | None

    def _send(self, only: list[int], force: bool = False) -> list[Outcome] | None:
        """Send these deliveries now, here; or (the console) wake the daemon's dispatch and return None."""
        if self.wake is not None and not force:
            self.wake()
            return None
        return self.bot.dispatch(only=only, force=force)

    def approve(self, delivery_id: int, by: str, text: str | None = None, *, seen: str | None = None) -> str:
        """Let a post that awaits approval go (APPROVE), as it is or with the editor's own ``text`` (checked as
        :meth:`edit_text` checks it, then sent exactly so); then dispatch. ``seen``: the :func:`text_token` of
        the text the editor was shown (refused when the post's text has changed since)."""
        row = self._row(delivery_id)
        if not APPROVE.allows(row.state):
            raise self._not_allowed(row, APPROVE, "approved")
        self._unchanged(row, seen)
        account = self.bot.account(row.account_id)
        now = self.bot.clock.now()
        if account.stale_after and row.published and row.published < now - account.stale_after:
            raise UsageError(f"delivery {delivery_id} is older than its account's stale_after "
                             f"({account.stale_after}): it would be skipped, not sent; post it by hand instead")
        mine = None if text is None else self._checked(row.account_id, text)
        if not self.bot.store.approve(delivery_id, self.bot.clock.now(), by, mine, expected=row.text):
            raise self._not_allowed(self._row(delivery_id), APPROVE, "approved")  # it changed meanwhile
        said = f"delivery {delivery_id} ({row.account_id}) is approved" + (" with your text" if mine else "")
        return said + self._sent(delivery_id)

    def reject(self, delivery_id: int, by: str, reason: str | None = None) -> str:
        """Never send a post that awaits approval (REJECT); ``reason`` is kept with it."""
        row = self._row(delivery_id)
        if not self.bot.store.reject(delivery_id, self.bot.clock.now(), by, reason):
            raise self._not_allowed(self._row(delivery_id) if REJECT.allows(row.state) else row, REJECT, "rejected")
        return f"delivery {delivery_id} ({row.account_id}) is rejected: it is never sent"

    def send_now(self, delivery_id: int, by: str) -> str:
        """A queued post goes now: its own wait ends (a schedule, a retry's backoff), kept in its history, and it is
        dispatched at once, within its account's rules (a hold, a rate limit, limits, quiet hours and the budget
        still make it wait)."""
        row = self._row(delivery_id)
        if row.state != DeliveryState.QUEUED or not self.bot.store.send_now(delivery_id, self.bot.clock.now(), by):
            state = self._row(delivery_id).state
            approve = f" (approve it: bot approve {delivery_id})" if state == DeliveryState.AWAITING_APPROVAL else ""
            raise UsageError(f"delivery {delivery_id} is {state}; only queued deliveries can be sent now{approve}")
        return f"delivery {delivery_id} ({row.account_id}) is due now" + self._sent(delivery_id)

    def _sent(self, delivery_id: int) -> str:
        """Send a delivery just made due (or wake the daemon to), and say what became of it."""
        outcomes = self._send([delivery_id])
        if outcomes is None:
            return "; the daemon sends it now"
        for o in outcomes:
            if o.delivery_id == delivery_id:
                return f": {o.status}" + (f": {o.url or o.detail}" if o.url or o.detail else "")
        state = self._row(delivery_id).state
        if state != DeliveryState.QUEUED:
            return f": it is {state}" + (" (older than its account's stale_after)" if state == "skipped" else "")
        return "; it waits for its account (bot status says why)"

    def edit_text(self, delivery_id: int, text: str, by: str, *, seen: str | None = None) -> str:
        """The editor's own text for a waiting post (queued or awaiting approval), sent exactly as it is. Refused
        when it is empty or does not fit the account's platform (saying its length as the platform counts it,
        and the limit), and where a send may have taken the post's text to the platform already."""
        row = self._row(delivery_id)
        self._editable(row)
        self._unchanged(row, seen)
        mine = self._checked(row.account_id, text)
        if not self.bot.store.edit_text(delivery_id, mine, self.bot.clock.now(), by, expected=row.text):
            self._editable(self._row(delivery_id))  # it changed meanwhile: say how
            raise UsageError(f"delivery {delivery_id} changed while it was edited; look again (bot status)")
        m = self.measure(row.account_id, mine)
        counted = f"{m.length}/{m.limit}" if m.limit else str(m.length)
        return f"delivery {delivery_id} ({row.account_id}): its text is now yours ({counted}), sent as it is"

    def composed_text(self, delivery_id: int) -> str:
        """The text a waiting post would go with now: its own (frozen, or an editor's) if it has one, else composed
        from the latest article data as the dispatcher would at its first attempt (nothing is written; raises
        ComposeError when no post fits)."""
        row = self._row(delivery_id)
        if row.text is not None:
            return row.text
        article = self.bot.store.article_by_id(row.article_id)
        return self.bot.composer.compose(row.account_id, article, row.article_id, row.priority)

    def measure(self, account_id: str, text: str) -> TextMeasure:
        """How the account's platform counts ``text`` (as an editor's text is kept: without the white space
        around it), whether it fits, what it would cost; the same rule and prices as the daemon's."""
        mine = editors_text(text)
        account = self.bot.account(account_id)
        rule = self.bot.publisher_for(account).rule
        cost = post_cost(account, mine)
        return TextMeasure(rule.count(mine), rule.max_length, bool(mine) and rule.fits(mine),
                           None if cost is None else cost / MICRO, has_url(mine))

    def history(self, query: str | None = None, account: str | None = None, state: str | None = None,
                since: datetime | None = None, until: datetime | None = None, offset: int = 0,
                limit: int = 50) -> tuple[list[DeliveryRow], int]:
        """The deliveries whose headline holds ``query`` (any case), of ``account``, in ``state``, last changed
        (``updated_at``: sent, skipped, failed, queued …) at or after ``since`` and before ``until``: one page
        (``offset``, at most ``limit`` rows), last changed first, and how many match in all."""
        states = [s.value for s in DeliveryState]
        if state is not None and state not in states:
            raise UsageError(f"no state {state!r}; states: {', '.join(states)}")
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise UsageError(f"a page starts at 0 or later and holds 1 to {MAX_PAGE} rows")
        if any(t is not None and t.tzinfo is None for t in (since, until)):
            raise UsageError("since and until need a timezone")
        return self.bot.store.search((query or "").strip() or None, account, state, since, until, offset, limit)

    def post_history(self, delivery_id: int) -> list[Event]:
        """What happened to a delivery, oldest first: who posted, approved, edited, retried, skipped it …"""
        self._row(delivery_id)
        return self.bot.store.history(delivery_id)

    # Shared by the operator actions on deliveries.

    def _row(self, delivery_id: int) -> DeliveryRow:
        row = self.bot.store.delivery(delivery_id)
        if row is None:
            raise UsageError(f"there is no delivery {delivery_id} (bot status lists them)")
        return row

    @staticmethod
    def _not_allowed(row: DeliveryRow, t: Transition, done: str) -> UsageError:
        return UsageError(f"delivery {row.id} is {row.state}; only {', '.join(t.allowed)} deliveries can be {done}")

    @staticmethod
    def _unchanged(row: DeliveryRow, seen: str | None) -> None:
        if seen is not None and seen != text_token(row.text):
            raise UsageError(f"delivery {row.id}'s text was changed by someone else meanwhile: here is its text "
                             "now; edit it again")

    @staticmethod
    def _editable(row: DeliveryRow) -> None:
        """Refuse (UsageError) an edit of this delivery's text where it must not change."""
        if row.state not in EDITABLE:
            raise UsageError(f"delivery {row.id} is {row.state}; only the text of "
                             f"{', '.join(s.value for s in EDITABLE)} deliveries can be edited")
        if row.maybe_posted:
            raise UsageError(f"delivery {row.id}'s text may be on the platform already (a send whose answer never "
                             "came): it is resent only as it is, so it cannot be edited; bot skip it if it must "
                             "not go")

    def _checked(self, account_id: str, text: str) -> str:
        """An editor's text, refused (UsageError) when it is empty or the account's platform would not take it."""
        mine = editors_text(text)
        if not mine:
            raise UsageError("the text is empty: give the text to post")
        account = self.bot.account(account_id)
        rule = self.bot.publisher_for(account).rule
        size = len(mine.encode("utf-8"))
        if rule.max_bytes is not None and size > rule.max_bytes:
            raise UsageError(f"the text is {size} UTF-8 bytes; {account.platform} takes at most {rule.max_bytes}")
        if rule.too_many_hashtags(mine):
            raise UsageError(f"the text has more hashtags than {account.id} takes ({rule.max_hashtags})")
        links = len(unique_links(mine))
        if rule.max_links is not None and links > rule.max_links:
            raise UsageError(f"the text has {links} different links; {account.platform} takes at most "
                             f"{rule.max_links}")
        if not rule.fits(mine):
            raise UsageError(f"the text is {rule.count(mine)} {rule.name}; {account.id} takes at most "
                             f"{rule.max_length}")
        return mine
