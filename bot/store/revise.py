"""Corrections and withdrawals, on the store's side: what each post out is owed after its article changed on the
site, claimed and recorded one at a time, every change kept in the post's history with who or what asked.

- :func:`correct` (in a poll's transaction, or on its own through :meth:`ReviseMixin.correct`): a changed headline
  (or the editor's text) is compared with what each post was composed from (``source_text``; a correction is a
  change of what it says, :func:`bot.compose.correction.is_correction`); then, per account, the post is owed an
  ``update``, is reposted (``REPOST``), or the correction is only noted.
- :meth:`ReviseMixin.retract`: the site withdrew the article: its waiting posts are skipped (``WITHDRAWN``), its
  posts out are owed a ``delete`` where the account says so, else flagged (they stay listed until deleted);
  :meth:`ReviseMixin.republish` undoes what can be undone when it is published again.
- :meth:`ReviseMixin.claim_revision` / :meth:`record_revised` / :meth:`record_revise_failed`: the reviser's claim
  (by the database's clock, fenced by its own end time) and outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.compose.correction import is_correction
from bot.lifecycle import (
    REPOST,
    REPOST_FOR_APPROVAL,
    REPUBLISHED,
    REPUBLISHED_FOR_APPROVAL,
    WITHDRAW,
    WITHDRAWN,
    WITHDRAWN_IN_DOUBT,
    WITHDRAWN_NOTE,
)
from bot.models import DeliveryState
from bot.store.engine import StoreBase, db_now
from bot.store.outbox import ROWS, delivery_row, move
from bot.store.records import Correcting, DeliveryRow, Revision, Withdrawn, _article
from bot.store.tables import articles, deliveries, events

UPDATE, DELETE, REPOST_OWED = "update", "delete", "repost"
SENT = DeliveryState.SENT.value
#: States whose text may be on the platform, or soon will be: an update owed waits for them to be sent.
_MAYBE_OUT = (DeliveryState.SENDING.value, DeliveryState.IN_DOUBT.value)
#: States where nothing is out, or no longer: a change owed to them is dropped (but the deletion of earlier posts).
_NOTHING_OUT = (DeliveryState.FAILED.value, DeliveryState.SKIPPED.value, DeliveryState.DELETED.value,
                DeliveryState.AWAITING_APPROVAL.value)
#: The feed's own posts (a post made by hand is a person's: neither corrected nor withdrawn by the bot).
_AUTOMATIC = deliveries.c.created_by.is_(None)
#: Posts out: sent, or the earlier posts of a repost (kept until deleted).
_OUT = sa.or_(deliveries.c.state == SENT, deliveries.c.earlier.is_not(None))
#: A change owed that can be made now (a post out), or dropped (nothing out any more): what wakes the reviser.
_ACTIONABLE = sa.or_(deliveries.c.state == SENT,
                     sa.and_(deliveries.c.revise == DELETE, deliveries.c.earlier.is_not(None),
                             deliveries.c.state != DeliveryState.SENDING.value))
_DROPPED = sa.and_(sa.or_(deliveries.c.state.in_(_NOTHING_OUT),
                          sa.and_(deliveries.c.state == DeliveryState.QUEUED.value,
                                  deliveries.c.first_tried_at.is_(None))),
                   sa.not_(sa.and_(deliveries.c.revise == DELETE, deliveries.c.earlier.is_not(None))))


#: Posts of a withdrawn article that wait to be sent: the reviser withdraws them (``withdraw_waiting``).
_WAITING_WITHDRAWN = (deliveries.c.state == DeliveryState.QUEUED.value, _AUTOMATIC,
                      articles.c.retracted_at.is_not(None))
#: How a withdrawal the REST API's check found ends its reason (``bot.retract``): asked again, it can stand again.
CHECKED = "(the REST API's check)"


def _event(c: Connection, delivery_id: int, now: datetime, event: str, detail: str, by: str) -> None:
    c.execute(events.insert().values(delivery_id=delivery_id, at=now, event=event, detail=detail, by=by))


def _frozen(d: Any) -> bool:
    """Whether a row's text went (or may go) to the platform as it is: sent, being sent, in doubt, or a retry
    of a frozen text."""
    return bool(d["state"] in (SENT, *_MAYBE_OUT) or (d["state"] == DeliveryState.QUEUED.value and d["text"]
                                                       and d["first_tried_at"] is not None))


def _owe(c: Connection, ids: Sequence[int], kind: str, by: str, now: datetime) -> None:
    """A change owed to these posts, asked now (a claim under way keeps its row, and its outcome then leaves the
    change owed: ``revise_tries`` 0 says a new request came)."""
    if ids:
        c.execute(deliveries.update().where(deliveries.c.id.in_(list(ids))).values(
            revise=kind, revise_by=by, revise_due=now, revise_error=None, revise_tries=0))


def approved_before(c: Connection, delivery_id: int) -> bool:
    """Whether a person approved this delivery's post once (its repost waits for approval again)."""
    return c.execute(sa.select(events.c.id).where(events.c.delivery_id == delivery_id,
                                                  events.c.event == "approve").limit(1)).first() is not None


def repost(c: Connection, d: Any, now: datetime, approval: str | None, detail: str, by: str) -> bool:
    """REPOST (or REPOST_FOR_APPROVAL, also where a person approved its first post): a new post of the delivery,
    the one out kept in ``earlier`` (a withdrawal deletes it too)."""
    approval = approval or ("its first post was approved by a person" if approved_before(c, d["id"]) else None)
    # The post out, kept for a withdrawal to delete (or, its id unknown, to list for a person).
    earlier = [*(d["earlier"] or []), [d["remote_id"], d["remote_url"]]]
    again = f"the headline was edited: posting again (was {d['remote_url'] or d['remote_id']})"
    if not move(c, REPOST_FOR_APPROVAL if approval else REPOST, deliveries.c.id == d["id"], text=None,
                frozen_title=None, source_text=None, remote_id=None, remote_url=None, attempts=0, not_before=None,
                first_tried_at=None, maybe_posted=False, created_at=now, revision=deliveries.c.revision + 1,
                updated_at=now, earlier=earlier or None, revise=None, revise_claimed_until=None,
                note=f"awaiting approval ({approval}); {again}" if approval else again):
        return False
    _event(c, d["id"], now, "repost", detail, by)
    return True


def correct(c: Connection, article_id: int, now: datetime, by: str, correcting: Sequence[Correcting]) -> int:
    """Apply a correction of the article on the site to its posts, in the caller's transaction: for each post of
    an account in ``correcting`` whose source it changes (its text is a person's: never), an ``update`` owed
    (``revise``: the reviser composes the corrected text when it goes), a repost (one not out yet: owed, for
    when it is), or a note in its history. Posts not tried yet need nothing: they are composed from the article
    as it is when they go. A withdrawn article's posts are not corrected. Returns how many posts were affected."""
    row = c.execute(sa.select(articles).where(articles.c.id == article_id)).mappings().first()
    if row is None or row["retracted_at"] is not None:
        return 0
    article = _article(row)
    wanted = {x.account_id: x for x in correcting}
    touched = 0
    for d in c.execute(sa.select(deliveries).where(deliveries.c.article_id == article_id, _AUTOMATIC)
                       ).mappings().all():
        x = wanted.get(d["account_id"])
        if x is None or not _frozen(d):
            continue
        source = d["source_text"] if d["source_text"] is not None else d["frozen_title"]
        new = article.text_for(x.platform)
        if not is_correction(source, new):
            continue
        said = f"corrected on the site: «{source}» → «{new}»"
        if x.action in (UPDATE, REPOST_OWED) and d["revise"] is not None:
            if d["revise"] == UPDATE:  # one under way (or due) takes the article as it is then: made again after it
                c.execute(deliveries.update().where(deliveries.c.id == d["id"], deliveries.c.revise == UPDATE)
                          .values(revise_tries=0, revise_due=now))
            continue  # a repost owed takes the article as it is then too; a deletion goes first
        if x.action == UPDATE and (x.approval or approved_before(c, d["id"])) and d["state"] == SENT:
            c.execute(deliveries.update().where(deliveries.c.id == d["id"]).values(source_text=new))
            _event(c, d["id"], now, "edited on site", f"{said}; not updated by itself: this account's posts wait for "
                                                      "a person's approval (edit or post it again by hand)", by)
        elif x.action == UPDATE:
            _owe(c, [d["id"]], UPDATE, by, now)
            _event(c, d["id"], now, "edited on site", f"{said}; the post will be updated ({x.why})", by)
        elif x.action == REPOST_OWED and d["state"] == SENT:
            repost(c, d, now, x.approval, f"{said}; posting it again ({x.why})", by)
        elif x.action == REPOST_OWED:  # being sent, or to be sent again: posted again once it is out
            _owe(c, [d["id"]], REPOST_OWED, by, now)
            _event(c, d["id"], now, "edited on site", f"{said}; posted again once this post is out ({x.why})", by)
        elif d["state"] == SENT:  # noted once: the next correction is compared with this one
            c.execute(deliveries.update().where(deliveries.c.id == d["id"]).values(source_text=new))
            _event(c, d["id"], now, "edited on site", f"{said}; the post is left as it is ({x.why})", by)
        else:
            continue
        touched += 1
    return touched


class ReviseMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for corrections and withdrawals of posts out."""

    def correct(self, article_id: int, now: datetime, by: str, correcting: Sequence[Correcting]) -> int:
        """:func:`correct` in a transaction of its own (a notice of an edit, the editor's text changed)."""
        with self.engine.begin() as c:
            return correct(c, article_id, now, by, correcting)

    def retract(self, article_id: int, now: datetime, why: str, by: str, delete: Sequence[str]) -> tuple[int, int]:
        """The site withdrew the article (``why``: how it was learned): in one transaction it is marked so, its
        waiting posts are skipped (``WITHDRAWN``; one waiting to be sent again after a send that may have posted
        it is in doubt instead, for a person to check), and the posts out of the accounts in ``delete`` (those
        being sent too, once sent; a repost's earlier posts) are owed a deletion; the others' stay listed as
        flagged. Posts made by hand are a person's: left alone. Nothing again for an article already withdrawn.
        Returns (skipped or in doubt, owed a deletion)."""
        with self.engine.begin() as c:
            marked = c.execute(articles.update().where(articles.c.id == article_id,
                                                       articles.c.retracted_at.is_(None))
                               .values(retracted_at=now, retracted_why=why)).rowcount
            if not marked:
                return 0, 0
            mine = (deliveries.c.article_id == article_id, _AUTOMATIC)
            waiting = c.execute(sa.select(deliveries.c.id, deliveries.c.maybe_posted).where(
                *mine, deliveries.c.state.in_(WITHDRAWN.allowed))).all()
            note = f"{WITHDRAWN_NOTE} ({why}): not posted"
            doubt = (f"{WITHDRAWN_NOTE} ({why}), while a send that may have posted it waited to be tried again: "
                     "check the account, delete the post there if it is, then bot skip ID")
            for r in waiting:
                t, said = (WITHDRAWN_IN_DOUBT, doubt) if r.maybe_posted else (WITHDRAWN, note)
                if move(c, t, deliveries.c.id == r.id, updated_at=now, note=said, claimed_until=None):
                    _event(c, r.id, now, "withdrawn", said, by)
            unsure = (f"{WITHDRAWN_NOTE} ({why}) while this post was in doubt: check the account, delete the post "
                      "there if it is, then bot skip ID (a retry does not post a withdrawn article)")
            for r in c.execute(sa.select(deliveries.c.id).where(
                    *mine, deliveries.c.state == DeliveryState.IN_DOUBT.value,
                    deliveries.c.id.not_in([w.id for w in waiting] or [0]))).all():
                c.execute(deliveries.update().where(deliveries.c.id == r.id).values(note=unsure, updated_at=now))
                _event(c, r.id, now, "withdrawn", unsure, by)
            # A correction owed is not made to a withdrawn article's posts (a deletion may be owed instead).
            c.execute(deliveries.update().where(*mine, deliveries.c.revise.in_([UPDATE, REPOST_OWED]))
                      .values(revise=None))
            owed = [r.id for r in c.execute(sa.select(deliveries.c.id).where(
                *mine, deliveries.c.account_id.in_(list(delete)),
                sa.or_(deliveries.c.state.in_([SENT, *_MAYBE_OUT]), deliveries.c.earlier.is_not(None))))] \
                if delete else []
            _owe(c, owed, DELETE, by, now)
            for d_id in owed:
                _event(c, d_id, now, "withdrawn", f"{WITHDRAWN_NOTE} ({why}): the post will be deleted", by)
            for r in c.execute(sa.select(deliveries.c.id).where(*mine, _OUT, deliveries.c.id.not_in(owed or [0]))):
                _event(c, r.id, now, "withdrawn", f"{WITHDRAWN_NOTE} ({why}): the post is flagged for a person "
                                                  "to delete", by)
            return len(waiting), len(owed)

    def republish(self, article_id: int, now: datetime, by: str, for_approval: Sequence[str] = ()) -> int:
        """The withdrawn article is published again: it no longer counts as withdrawn, the posts its withdrawal
        skipped (never sent) wait again (for approval, for the accounts in ``for_approval``), and deletions owed
        and not under way are dropped (posts already deleted stay so). Returns how many posts wait again."""
        with self.engine.begin() as c:
            if not c.execute(articles.update().where(articles.c.id == article_id, articles.c.retracted_at.is_not(None))
                             .values(retracted_at=None, retracted_why=None)).rowcount:
                return 0
            again = (deliveries.c.article_id == article_id, _AUTOMATIC, deliveries.c.note.startswith(WITHDRAWN_NOTE),
                     deliveries.c.sent_at.is_(None), deliveries.c.earlier.is_(None))
            ids = [r.id for r in c.execute(sa.select(deliveries.c.id).where(*again, deliveries.c.state.in_(
                REPUBLISHED.allowed)))]
            wait = list(for_approval)
            note = "published again on the site"
            n = move(c, REPUBLISHED_FOR_APPROVAL, *again, deliveries.c.account_id.in_(wait), updated_at=now,
                     note=f"awaiting approval; {note}") if wait else 0
            n += move(c, REPUBLISHED, *again, deliveries.c.account_id.not_in(wait), updated_at=now, note=note)
            clock = db_now(c)
            dropped = [r.id for r in c.execute(sa.select(deliveries.c.id).where(
                deliveries.c.article_id == article_id, deliveries.c.revise == DELETE,
                sa.or_(deliveries.c.revise_claimed_until.is_(None), deliveries.c.revise_claimed_until < clock)))]
            if dropped:
                c.execute(deliveries.update().where(deliveries.c.id.in_(dropped)).values(revise=None))
            for d_id in {*ids, *dropped}:
                _event(c, d_id, now, "published again", note + ("" if d_id in ids else ": the post is not deleted"),
                       by)
            return n

    def withdraw_posts(self, article_id: int, now: datetime, by: str) -> list[int]:
        """A person asks that the article's posts out be deleted, all of them (the flagged ones' one action):
        each is owed a deletion. Which (the feed's posts; those made by hand are deleted one by one)."""
        with self.engine.begin() as c:
            owed = [r.id for r in c.execute(sa.select(deliveries.c.id).where(
                deliveries.c.article_id == article_id, _AUTOMATIC, _OUT,
                deliveries.c.state != DeliveryState.SENDING.value))]
            _owe(c, owed, DELETE, by, now)
            for d_id in owed:
                _event(c, d_id, now, "delete asked", f"deletion asked by {by}", by)
            return owed

    def is_withdrawn(self, article_id: int) -> bool:
        with self.engine.connect() as c:
            return c.execute(sa.select(articles.c.id).where(articles.c.id == article_id,
                                                            articles.c.retracted_at.is_not(None))).first() is not None

    def anything_to_revise(self, now: datetime, accounts: Sequence[str] | None = None) -> bool:
        """Whether a change owed to a post (of one of these accounts) can be made now, or dropped (one indexed
        query: the usual idle answer is no; a change owed to a post in doubt or being sent, or to an account not
        posting, waits without waking the reviser)."""
        mine = deliveries.c.account_id.in_(list(accounts)) if accounts is not None else sa.true()
        due = sa.or_(deliveries.c.revise_due.is_(None), deliveries.c.revise_due <= now)
        owed = sa.select(deliveries.c.id).where(deliveries.c.revise.is_not(None),
                                                sa.or_(sa.and_(_ACTIONABLE, mine, due), _DROPPED))
        waiting = sa.select(deliveries.c.id).join(articles, articles.c.id == deliveries.c.article_id).where(
            *_WAITING_WITHDRAWN)
        with self.light.connect() as c:
            return bool(c.execute(sa.select(sa.or_(owed.exists(), waiting.exists()))).scalar())

    def claim_revision(self, now: datetime, accounts: Sequence[str], lease: timedelta) -> Revision | None:
        """Claim the next change owed to a post out of one of these accounts (due, not claimed), by the database's
        clock; changes owed to posts that are not out any more are dropped first."""
        with self.engine.begin() as c:
            c.execute(deliveries.update().where(deliveries.c.revise.is_not(None), _DROPPED)
                      .values(revise=None, revise_claimed_until=None))
            clock = db_now(c)
            q = (ROWS.add_columns(articles.c.retracted_why).where(
                deliveries.c.revise.is_not(None), _ACTIONABLE, deliveries.c.account_id.in_(list(accounts)),
                sa.or_(deliveries.c.revise_due.is_(None), deliveries.c.revise_due <= now),
                sa.or_(deliveries.c.revise_claimed_until.is_(None), deliveries.c.revise_claimed_until < clock))
                 .order_by(deliveries.c.revise_due, deliveries.c.id).limit(1))
            if self.postgres:
                q = q.with_for_update(of=deliveries, skip_locked=True)
            r = c.execute(q).mappings().first()
            if r is None:
                return None
            until = clock + lease
            c.execute(deliveries.update().where(deliveries.c.id == r["id"]).values(
                revise_claimed_until=until, revise_tries=deliveries.c.revise_tries + 1))
            return Revision(
                delivery=delivery_row(r), kind=r["revise"], by=r["revise_by"] or "the bot", tries=r["revise_tries"] + 1,
                claimed_until=until, earlier=tuple((str(e[0] or ""), e[1]) for e in (r["earlier"] or []) if e),
                revision=r["revision"], why=r["retracted_why"])

    def _fence(self, rev: Revision, *, done: bool = False) -> tuple[Any, ...]:
        """This claim's row (``done``: and no new request since it was claimed, which keeps the change owed)."""
        held = (deliveries.c.id == rev.delivery.id, deliveries.c.revise == rev.kind,
                deliveries.c.revise_claimed_until == rev.claimed_until)
        return (*held, deliveries.c.revise_tries == rev.tries) if done else held

    def record_corrected(self, rev: Revision, now: datetime, text: str, source: str, title: str) -> bool:
        """The post was updated on its platform with ``text`` (composed from ``source``): kept on the row and in
        its history, where the claim still holds; the change is done unless another correction came meanwhile
        (then it is made again, from the article as it is then). False: the claim was lost."""
        changed = text != rev.delivery.text
        with self.engine.begin() as c:
            if not c.execute(deliveries.update().where(*self._fence(rev)).values(
                    text=text, source_text=source, frozen_title=title, updated_at=now)).rowcount:
                return False
            c.execute(deliveries.update().where(*self._fence(rev, done=True)).values(
                revise=None, revise_claimed_until=None, revise_error=None, revise_tries=0))
            c.execute(deliveries.update().where(*self._fence(rev)).values(revise_claimed_until=None))
            if changed:
                _event(c, rev.delivery.id, now, "corrected", f"updated on the platform; it said: «{rev.delivery.text}»",
                       rev.by)
        return True

    def record_reposted(self, rev: Revision, now: datetime, approval: str | None) -> bool:
        """The post owed a repost is out: posted again now (``repost``), kept in its history."""
        with self.engine.begin() as c:
            d = c.execute(sa.select(deliveries).where(*self._fence(rev))).mappings().first()
            return d is not None and repost(c, d, now, approval, "the corrected article posted again", rev.by)

    def record_deleted(self, rev: Revision, now: datetime, detail: str, *, keep: Sequence[tuple[str, str | None]] = (),
                       error: str | None = None) -> bool:
        """The post (and those of its earlier revisions) were deleted on the platform, or were gone already:
        ``WITHDRAW`` for a post that was out (a repost's skipped row only loses its earlier posts), kept in its
        history; ``keep``: earlier posts the platform refused to delete (still listed, with ``error``). False when
        the claim was no longer this one's."""
        with self.engine.begin() as c:
            values: dict[str, Any] = {"revise": None, "revise_claimed_until": None, "revise_error": error,
                                      "earlier": [list(e) for e in keep] or None, "updated_at": now}
            if rev.delivery.state == SENT:
                moved = move(c, WITHDRAW, *self._fence(rev), note=detail, **values)
            else:  # only its earlier posts were out; a repost sent meanwhile stays owed its own deletion
                values["revise"] = sa.case((deliveries.c.state == SENT, deliveries.c.revise), else_=None)
                moved = c.execute(deliveries.update().where(*self._fence(rev)).values(**values)).rowcount
            if not moved:
                return False
            _event(c, rev.delivery.id, now, WITHDRAW.name, detail, rev.by)
            if error:
                _event(c, rev.delivery.id, now, "delete failed", error, rev.by)
            return True

    def record_earlier_deleted(self, rev: Revision, left: Sequence[tuple[str, str | None]]) -> None:
        """Some of the posts of earlier revisions were deleted: only ``left`` are still owed."""
        with self.engine.begin() as c:
            c.execute(deliveries.update().where(*self._fence(rev)).values(earlier=[list(e) for e in left] or None))

    def record_revise_failed(self, rev: Revision, now: datetime, error: str, retry_at: datetime | None, *,
                             counts: bool = True) -> None:
        """The change could not be made: tried again at ``retry_at`` (``counts`` False: a rate limit, a held account,
        not a try), or (None) given up, the error kept on the row and in the history (a flagged post stays listed
        with it)."""
        values: dict[str, Any] = {"revise_claimed_until": None, "revise_error": error}
        if retry_at is None:
            values.update(revise=None, revise_tries=0)
        else:
            values["revise_due"] = retry_at
            if not counts:  # this claim's try given back
                tries = deliveries.c.revise_tries
                values["revise_tries"] = sa.case((tries > 0, tries - 1), else_=0)
        with self.engine.begin() as c:
            if c.execute(deliveries.update().where(*self._fence(rev)).values(**values)).rowcount and retry_at is None:
                what = "correction failed" if rev.kind == UPDATE else "delete failed"
                _event(c, rev.delivery.id, now, what, error, rev.by)

    def withdrawn(self, limit: int | None = 20, article_id: int | None = None) -> list[Withdrawn]:
        """The withdrawn articles (or this one) that still have posts out, newest withdrawal first, with those posts
        (the feed's: a post made by hand is a person's), each with the change owed it and its last error."""
        with self.engine.connect() as c:
            found = c.execute(sa.select(articles.c.id, articles.c.title, articles.c.link, articles.c.retracted_at,
                                        articles.c.retracted_why).where(
                articles.c.retracted_at.is_not(None), sa.true() if article_id is None else articles.c.id == article_id,
                sa.exists().where(deliveries.c.article_id == articles.c.id, _AUTOMATIC, _OUT))
                .order_by(articles.c.retracted_at.desc()).limit(limit)).all()  # None: all of them
            out: list[Withdrawn] = []
            for a in found:
                rows = c.execute(ROWS.add_columns(deliveries.c.revise, deliveries.c.revise_error,
                                                  deliveries.c.earlier).where(
                    deliveries.c.article_id == a.id, _AUTOMATIC, _OUT).order_by(deliveries.c.id)).mappings()
                posts = [(_shown_out(r), r["revise"], r["revise_error"]) for r in rows]
                out.append(Withdrawn(a.id, a.title, a.link, a.retracted_at, a.retracted_why or "", posts))
            return out

    def recently_posted(self, since: datetime, limit: int = 2000) -> list[tuple[int, str, str, bool]]:
        """The articles whose WordPress post id is known, with a post out sent since then or one waiting that was
        first seen since then (settling, awaiting approval): (article id, post key ``host?p=ID``, its feed, whether
        it stands withdrawn by this check: asked again, to stand again when published), newest first. Others
        withdrawn are not asked for."""
        waiting = [DeliveryState.QUEUED.value, DeliveryState.AWAITING_APPROVAL.value]
        by_check = articles.c.retracted_why.endswith(CHECKED)
        with self.light.connect() as c:
            return [(r.id, r.post_key, r.feed_id, r.retracted_at is not None) for r in c.execute(
                sa.select(articles.c.id, articles.c.post_key, articles.c.feed_id, articles.c.retracted_at).where(
                    sa.or_(articles.c.retracted_at.is_(None), by_check), articles.c.post_key.is_not(None),
                    sa.or_(sa.exists().where(deliveries.c.article_id == articles.c.id, deliveries.c.state == SENT,
                                             deliveries.c.sent_at >= since),
                           sa.and_(articles.c.first_seen_at >= since, sa.exists().where(
                               deliveries.c.article_id == articles.c.id, deliveries.c.state.in_(waiting))),
                           sa.and_(by_check, articles.c.retracted_at >= since)))
                .order_by(articles.c.id.desc()).limit(limit))]

    def withdraw_waiting(self, now: datetime) -> int:
        """Posts of withdrawn articles found waiting to be sent (queued again after a send under way when the article
        was withdrawn, or by a retry): skipped, or in doubt where a send may have posted them (posts made by hand are
        a person's). How many."""
        with self.engine.begin() as c:
            rows = c.execute(sa.select(deliveries.c.id, deliveries.c.maybe_posted, articles.c.retracted_why)
                             .join(articles, articles.c.id == deliveries.c.article_id)
                             .where(*_WAITING_WITHDRAWN)).all()
            for r in rows:
                note = f"{WITHDRAWN_NOTE} ({r.retracted_why}): not posted"
                t = WITHDRAWN_IN_DOUBT if r.maybe_posted else WITHDRAWN
                said = note if not r.maybe_posted else (f"{WITHDRAWN_NOTE} ({r.retracted_why}), after a send that may "
                                                        "have posted it: check the account, then bot skip ID")
                if move(c, t, deliveries.c.id == r.id, updated_at=now, note=said, claimed_until=None):
                    _event(c, r.id, now, "withdrawn", said, "the bot")
            return len(rows)

    def revising_accounts(self) -> set[str]:
        """The accounts with a change owed."""
        with self.light.connect() as c:
            return {r.account_id for r in c.execute(sa.select(deliveries.c.account_id).distinct().where(
                deliveries.c.revise.is_not(None)))}

    def defer_revisions(self, accounts: Sequence[str], now: datetime, until: datetime) -> None:
        """Changes owed to posts of these accounts (held, paused, or not posting) due now: not before ``until``."""
        if accounts:
            with self.engine.begin() as c:
                c.execute(deliveries.update().where(
                    deliveries.c.revise.is_not(None), deliveries.c.account_id.in_(list(accounts)),
                    sa.or_(deliveries.c.revise_due.is_(None), deliveries.c.revise_due <= now)).values(revise_due=until))

    def owed(self, delivery_id: int) -> DeliveryRow | None:
        """A delivery with a change owed (for status and tests); None when it is owed none."""
        with self.engine.connect() as c:
            r = c.execute(ROWS.where(deliveries.c.id == delivery_id, deliveries.c.revise.is_not(None))).mappings()
            return next((delivery_row(row) for row in r), None)


def _shown_out(r: Any) -> DeliveryRow:
    """A post out as the withdrawn list shows it: one whose row has moved on (a repost waiting, skipped or deleted)
    shows its latest earlier post."""
    row = delivery_row(r)
    if row.state != SENT and r["earlier"]:
        remote_id, url = r["earlier"][-1][0], r["earlier"][-1][1]
        row = replace(row, remote_id=str(remote_id), remote_url=url)
    return row
