"""The delivery state machine: every change of a delivery's state, named once, with the states it may start
from. The store applies them (``bot/store/outbox.py``); nothing else writes a delivery's state.

- a poll: new → ``queued`` (or ``skipped`` by the account's filters, or ``awaiting_approval`` where the account's
  ``approval:`` asks for it); ``repost``: ``sent`` → ``queued`` (``repost for approval``: → ``awaiting_approval``)
- a post by hand: new → ``queued`` (an editor's post needs no approval; ``not_before`` its time when scheduled)
- the dispatcher: ``claim``: ``queued`` → ``sending``; then one outcome: ``sent``, ``retry later`` (→ ``queued``),
  ``fail`` (→ ``failed``) or ``doubt`` (→ ``in_doubt``); a claim found expired: ``resend`` (→ ``queued``) or
  ``expired in doubt`` (→ ``in_doubt``); ``stale``: ``queued`` | ``awaiting_approval`` → ``skipped``; ``not shared``
  at its first send, where the editor chose so in the companion plugin (→ ``skipped``)
- the editor's say, read from the site by a poll or a plugin's notice: ``not shared`` (``queued`` |
  ``awaiting_approval`` → ``skipped``), ``shared again`` (those ``skipped`` so, never sent → ``queued``, or
  ``awaiting_approval`` where the account's approval applies)
- the site's withdrawal of the article (the plugin's notice, the REST API's check): ``withdrawn`` (``queued`` |
  ``awaiting_approval`` → ``skipped``; ``withdrawn in doubt``: ``queued`` after a send that may have posted it →
  ``in_doubt``), ``published again`` (those skipped so, never sent → ``queued``, or
  ``awaiting_approval``); the reviser: ``withdraw`` (``sent`` → ``deleted``), where the account's ``on_retract``
  is delete or a person asked
- operators: ``approve`` (``awaiting_approval`` → ``queued``), ``reject`` (``awaiting_approval`` → ``skipped``),
  ``retry`` (``failed`` | ``in_doubt`` | ``skipped`` → ``queued``; ``retry for approval``: ``skipped`` →
  ``awaiting_approval`` where the account's approval applies), ``skip`` (``queued`` | ``in_doubt`` | ``failed`` |
  ``awaiting_approval`` → ``skipped``), ``unpost`` (``sent`` → ``deleted``)

A correction of a post out (``corrected``, kept in the history with who or what asked) changes no state: the post
stays ``sent``, with its new text. An editor's own text (``edit``, kept in the history) changes no state: it
replaces the text of a delivery in one of ``EDITABLE`` whose text no send may have taken to the platform (the row's
``maybe_posted``, set by every outcome that could have posted it and cleared only where its text is dropped:
``retry`` of one neither in doubt nor ``maybe_posted``, ``repost``).

A send's outcomes (``sent``, ``retry_later``, ``fail``, ``doubt``) are recorded by the dispatcher on the row
it claimed; they name no from-states yet (the row is not re-checked against its claim when the outcome is
written).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import DeliveryState

Q, SENDING, SENT, FAILED, SKIPPED, IN_DOUBT, DELETED, AWAITING = (
    DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SKIPPED,
    DeliveryState.IN_DOUBT, DeliveryState.DELETED, DeliveryState.AWAITING_APPROVAL)


@dataclass(frozen=True)
class Transition:
    """One named change of a delivery's state."""

    name: str  #: as a delivery's history records it (operators' transitions) and as logs say it
    to: DeliveryState  #: the state it leads to
    start: tuple[DeliveryState, ...] = ()  #: the states it may start from; empty: not checked

    @property
    def allowed(self) -> list[str]:
        """The from-states as values, in the order named (for a query's ``IN`` and for messages)."""
        return [s.value for s in self.start]

    def allows(self, state: str) -> bool:
        return not self.start or state in self.start


def _t(name: str, to: DeliveryState, *start: DeliveryState) -> Transition:
    return Transition(name, to, start)


# The dispatcher's.
CLAIM = _t("claim", SENDING, Q)  #: a due delivery is taken for one send (its claim lasts ``dispatch_lease``)
SEND_OK = _t("sent", SENT)  #: the platform has the post (or already had it: a duplicate)
RETRY_LATER = _t("retry later", Q)  #: not sent, surely: try again at ``not_before`` (or when released)
FAIL = _t("fail", FAILED)  #: the platform refused this post, or no post could fit
DOUBT = _t("doubt", IN_DOUBT)  #: it may or may not have posted, and a resend could post twice
RESEND = _t("resend", Q, SENDING)  #: a claim expired mid-send where a resend is safe: again, same text
EXPIRED_DOUBT = _t("expired in doubt", IN_DOUBT, SENDING)  #: a claim expired mid-send where a resend is not safe
STALE = _t("stale", SKIPPED, Q, AWAITING)  #: not gone out (nor approved) within the account's ``stale_after``
NOT_SHARED_AT_SEND = _t("not shared", SKIPPED)  #: the editor's say, read just before the first send: not shared
# The editor's say in the companion plugin, read from the site (a poll, a notice).
NOT_SHARED = _t("not shared", SKIPPED, Q, AWAITING)  #: the editor chose not to share the article
SHARED_AGAIN = _t("shared again", Q, SKIPPED)  #: … and then chose to share it after all, before it went out
SHARED_AGAIN_FOR_APPROVAL = _t("shared again for approval", AWAITING, SKIPPED)  #: the same, where approval applies
# The site's withdrawal of an article (unpublished, private, trashed, deleted), learned from the plugin's notice or the
# REST API; and its publication again.
WITHDRAWN = _t("withdrawn", SKIPPED, Q, AWAITING)  #: the article was withdrawn before its post went out
#: … while its post waited to be sent again after a send that may have posted it: a person checks
WITHDRAWN_IN_DOUBT = _t("withdrawn in doubt", IN_DOUBT, Q)
REPUBLISHED = _t("published again", Q, SKIPPED)  #: … and published again: those it skipped, never sent, go
REPUBLISHED_FOR_APPROVAL = _t("published again for approval", AWAITING, SKIPPED)  #: the same, where approval applies
WITHDRAW = _t("withdraw", DELETED, SENT)  #: the reviser deleted the post of a withdrawn article on its platform
# The poll's.
REPOST = _t("repost", Q, SENT)  #: ``on_edit: repost``: the headline was corrected after the post went out
REPOST_FOR_APPROVAL = _t("repost for approval", AWAITING, SENT)  #: the same, where the account's approval applies
# The operators'.
APPROVE = _t("approve", Q, AWAITING)  #: a person lets it go (with their own text, maybe)
REJECT = _t("reject", SKIPPED, AWAITING)  #: a person says it never goes
RETRY = _t("retry", Q, FAILED, IN_DOUBT, SKIPPED)  #: send again (an in-doubt one with its frozen text)
#: a skipped post of an account that asks approval for it: approved again before it goes (a rejection stands)
RETRY_FOR_APPROVAL = _t("retry for approval", AWAITING, SKIPPED)
SKIP = _t("skip", SKIPPED, Q, IN_DOUBT, FAILED, AWAITING)  #: never send it
UNPOST = _t("unpost", DELETED, SENT)  #: the post was deleted on its platform

#: The note of a delivery the editor's say skipped (``NOT_SHARED``); only those are ``SHARED_AGAIN``.
NOT_SHARED_NOTE = "the editor chose not to share"
#: The beginning of the note of a delivery a withdrawal skipped (``WITHDRAWN``); only those are ``REPUBLISHED``.
WITHDRAWN_NOTE = "withdrawn on the site"

#: The states whose text an editor may replace (``edit``), when no send may have taken it to the platform yet.
EDITABLE = (Q, AWAITING)
