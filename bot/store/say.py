"""The editor's say in the companion WordPress plugin, on the store's side: recorded on the article (with the
REST API's other answers), applied to the article's deliveries that have not gone out (not shared: skipped;
shared again: back in the queue; breaking: their priority), and the deliveries of a WordPress post found by its
post id or link (the plugin's "where it went")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.lifecycle import NOT_SHARED, NOT_SHARED_NOTE, SHARED_AGAIN, SHARED_AGAIN_FOR_APPROVAL
from bot.models import DeliveryState
from bot.store.engine import StoreBase
from bot.store.outbox import ROWS, delivery_row, move
from bot.store.records import DeliveryRow
from bot.store.tables import articles, deliveries

#: The deliveries an article's say moves: the feed's own (a post made by hand is a person's decision), and only
#: while no send may have taken them to the platform.
_AUTOMATIC = (deliveries.c.created_by.is_(None), deliveries.c.maybe_posted.is_(False))


class SayMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for the editor's say per article."""

    def apply_say(self, article_id: int, now: datetime, share: bool, priorities: Mapping[str, int],
                  for_approval: Sequence[str] = ()) -> tuple[int, int]:
        """Apply the article's say to its waiting deliveries in one transaction: not shared → those queued or
        awaiting approval are skipped (:data:`NOT_SHARED_NOTE`); shared → those it skipped, never sent, wait
        again (awaiting approval for the accounts in ``for_approval``); and each waiting one takes its account's
        priority in ``priorities``. Returns (skipped, restored)."""
        mine = (deliveries.c.article_id == article_id, *_AUTOMATIC)
        skipped = restored = 0
        with self.engine.begin() as c:
            if not share:
                skipped = move(c, NOT_SHARED, *mine, updated_at=now, note=NOT_SHARED_NOTE)  # its wait is kept
            else:
                again = (*mine, deliveries.c.note == NOT_SHARED_NOTE, deliveries.c.sent_at.is_(None))
                wait = list(for_approval)
                restored = move(c, SHARED_AGAIN_FOR_APPROVAL, *again, deliveries.c.account_id.in_(wait),
                                updated_at=now, note="the editor shared it: it awaits approval") if wait else 0
                restored += move(c, SHARED_AGAIN, *again, deliveries.c.account_id.not_in(wait), updated_at=now,
                                 note="the editor shared it")
            waiting = [DeliveryState.QUEUED.value, DeliveryState.AWAITING_APPROVAL.value]
            for account_id, priority in priorities.items():
                c.execute(deliveries.update().where(*mine, deliveries.c.account_id == account_id,
                                                    deliveries.c.state.in_(waiting),
                                                    deliveries.c.priority != priority).values(priority=priority))
        return skipped, restored

    def unread_articles(self, feed_id: str, since: datetime, limit: int) -> list[int]:
        """The feed's articles first seen since then, with posts waiting, whose REST data was not asked for yet,
        newest first."""
        with self.engine.connect() as c:
            return [r.id for r in c.execute(
                sa.select(articles.c.id).where(
                    articles.c.feed_id == feed_id, articles.c.first_seen_at >= since,
                    articles.c.api_checked_at.is_(None),
                    sa.exists().where(deliveries.c.article_id == articles.c.id, *_AUTOMATIC,
                                      deliveries.c.state.in_([DeliveryState.QUEUED.value,
                                                              DeliveryState.AWAITING_APPROVAL.value])))
                .order_by(articles.c.id.desc()).limit(limit))]

    def first_seen(self, article_id: int) -> datetime | None:
        with self.engine.connect() as c:
            found: datetime | None = c.execute(sa.select(articles.c.first_seen_at).where(
                articles.c.id == article_id)).scalar()
            return found

    def post_articles(self, keys: Sequence[str], link_key: str | None) -> list[int]:
        """The articles of a WordPress post: by its post keys (``host?p=ID``, one per host of the site) or its link
        key; newest first."""
        where: list[Any] = [articles.c.post_key.in_(list(keys))] if keys else []
        if link_key:
            where.append(articles.c.link_key == link_key)
        if not where:
            return []
        with self.engine.connect() as c:
            return [r.id for r in c.execute(sa.select(articles.c.id).where(sa.or_(*where))
                                            .order_by(articles.c.first_seen_at.desc(), articles.c.id.desc())
                                            .limit(10))]

    def article_deliveries(self, article_ids: Sequence[int]) -> list[DeliveryRow]:
        """Every delivery of these articles, in the order they were made."""
        if not article_ids:
            return []
        with self.engine.connect() as c:
            return [delivery_row(r) for r in c.execute(
                ROWS.where(deliveries.c.article_id.in_(list(article_ids))).order_by(deliveries.c.id)).mappings()]
