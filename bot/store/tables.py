"""The tables (SQLAlchemy Core) and the UTC time type: the bottom of the store, importing nothing of it.

Times are stored as naive UTC and come back timezone-aware. A change here is a schema change: it needs a
migration in ``bot/store/migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from bot.models import DeliveryState


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A datetime column stored as naive UTC that comes back timezone-aware; naive values are refused."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

feeds = sa.Table(
    "feeds", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("initialized", sa.Boolean, nullable=False, default=False),  # first successful poll done
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("body_hash", sa.String(64)),
    sa.Column("last_poll_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("failures", sa.Integer, nullable=False, default=0),
    sa.Column("next_poll_at", UTCDateTime),  # set while backing off after failures
    # The poll lease: the replica polling the feed now, and until when its claim holds (migration 0002).
    sa.Column("lease_owner", sa.Text),
    sa.Column("leased_until", UTCDateTime),
    # Migration 0004: a catch-up over older pages that did not finish (when it began: the next poll goes on
    # with it), and the last poll that read a body (an article seen then is still in the feed).
    sa.Column("catch_up_since", UTCDateTime),
    sa.Column("last_body_at", UTCDateTime),
)

articles = sa.Table(
    "articles", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feed_id", sa.String(64), nullable=False),
    sa.Column("guid", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("link", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("author", sa.Text, nullable=False, default=""),
    sa.Column("published_at", UTCDateTime),
    sa.Column("labels", sa.JSON, nullable=False, default=list),
    sa.Column("image_urls", sa.JSON, nullable=False, default=list),
    sa.Column("categories", sa.JSON),  # from the REST API; NULL: unknown (use labels)
    sa.Column("tags", sa.JSON),
    sa.Column("featured_image", sa.Text),
    sa.Column("excerpt", sa.Text),
    sa.Column("api_checked_at", UTCDateTime),  # when the REST API was asked (cached per article)
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("item_hash", sa.String(64)),  # of its feed item as last parsed (bot.feeds.prescan; migration 0003)
    # Migration 0004: the article's identity beyond its guid (bot.compose.ids: WordPress's post id, the link
    # without scheme and www), and when its item was last in the feed (retention keeps what still is).
    sa.Column("post_key", sa.String(32)),
    sa.Column("link_key", sa.Text),
    sa.Column("last_seen_at", UTCDateTime),
    # Migration 0010: the editor's say in the companion plugin (bot.feeds.wordpress.EditorSay); NULL: none.
    sa.Column("editor_share", sa.Boolean),
    sa.Column("editor_text", sa.Text),
    sa.Column("editor_texts", sa.JSON),  # {platform: text}
    sa.Column("editor_breaking", sa.Boolean),
    # Migration 0011: the site withdrew it (unpublished, made private, trashed, deleted), when and how it was
    # learned; NULL: it stands (a withdrawn article published again is cleared).
    sa.Column("retracted_at", UTCDateTime),
    sa.Column("retracted_why", sa.Text),
    sa.UniqueConstraint("feed_id", "guid", name="uq_articles_feed_guid"),
)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(32), nullable=False, default=DeliveryState.QUEUED.value),  # 32: migration 0007
    sa.Column("priority", sa.Integer, nullable=False, default=0),
    sa.Column("not_before", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("text", sa.Text),  # frozen at the first attempt
    sa.Column("claimed_until", UTCDateTime),
    sa.Column("remote_id", sa.Text),
    sa.Column("remote_url", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("created_by", sa.Text),  # who made a manual post
    # Migration 0004: when its text was frozen (a platform's idempotency lasts so long), and which post of
    # the delivery this is (a repost after an edited headline is a new post, with keys of its own).
    sa.Column("first_tried_at", UTCDateTime),
    sa.Column("revision", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("cost_micro_usd", sa.Integer),  # migration 0006: what the platform charged for it (X)
    # Migration 0007: a send of its text may have reached the platform (an answer lost, a crash mid-send): its
    # text must never change (an editor's edit is refused).
    sa.Column("maybe_posted", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    # Migration 0009: the headline as it was when the text was frozen (its card, alt text and embeds show it).
    sa.Column("frozen_title", sa.Text),
    # Migration 0011: a change owed to its post on the platform (``update``: the corrected text, composed when it
    # goes; ``delete``: the article was withdrawn), who or what asked, not before when, its tries, its claim and
    # its last failure (kept when given up); what its text was composed from (the headline or the editor's
    # text: a correction is a change of it); and the posts of earlier revisions ([[id, url], …]: a withdrawal
    # deletes them too).
    sa.Column("revise", sa.String(16)),
    sa.Column("revise_by", sa.Text),
    sa.Column("revise_due", UTCDateTime),
    sa.Column("revise_tries", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("revise_claimed_until", UTCDateTime),
    sa.Column("revise_error", sa.Text),
    sa.Column("source_text", sa.Text),
    sa.Column("earlier", sa.JSON(none_as_null=True)),
    sa.UniqueConstraint("article_id", "account_id", name="uq_deliveries_article_account"),
)

events = sa.Table(
    "delivery_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("by", sa.Text),
)
sa.Index("ix_deliveries_due", deliveries.c.state, deliveries.c.not_before)
sa.Index("ix_deliveries_updated", deliveries.c.updated_at)  # migration 0007: the history, newest first
sa.Index("ix_articles_guid", articles.c.guid)
sa.Index("ix_articles_feed_item_hash", articles.c.feed_id, articles.c.item_hash)
sa.Index("ix_articles_post_key", articles.c.post_key)
sa.Index("ix_articles_link_key", articles.c.link_key)
sa.Index("ix_deliveries_revise", deliveries.c.revise)  # migration 0011: the changes owed to posts out
sa.Index("ix_articles_retracted", articles.c.retracted_at)

short_links = sa.Table(
    "short_links", metadata,
    sa.Column("kind", sa.String(32), primary_key=True),  # the strategy: wordpress-page, yourls, bitly
    sa.Column("url", sa.Text, primary_key=True),
    sa.Column("short", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("held", sa.Boolean, nullable=False, default=False),
    sa.Column("held_reason", sa.Text),
    sa.Column("held_at", UTCDateTime),
    sa.Column("not_before", UTCDateTime),  # the platform asked for no request before this time
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Migration 0005: when the account's token expires (as its platform said, or the config), and when the
    # platform was last asked.
    sa.Column("token_expires_at", UTCDateTime),
    sa.Column("token_checked_at", UTCDateTime),
)

# Migration 0005: what operators have been told. One row a problem (its key names it: "held:x",
# "feed:main"), open while the problem lasts; and per problem and channel, the last word that channel heard.
alerts = sa.Table(
    "alerts", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(64), nullable=False),  # the account's or feed's id
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("cleared_message", sa.Text, nullable=False),  # what is said when it ends
    sa.Column("raised_at", UTCDateTime, nullable=False),
    sa.Column("cleared_at", UTCDateTime),  # NULL while the problem lasts
    sa.Column("changed_at", UTCDateTime, nullable=False),  # when it last began or ended
    sa.Column("claimed_until", UTCDateTime),  # a sender has it until then (by the database's clock)
    sa.Column("claims", sa.Integer, nullable=False, default=0),  # how many times it was claimed (a fence)
)

alert_channels = sa.Table(
    "alert_channels", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("told_event", sa.String(16)),  # raised | cleared: what the channel was last told (NULL: nothing)
    sa.Column("told_at", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),  # tries of the news it is owed
    sa.Column("not_before", UTCDateTime),  # not tried again before (after a failure)
    sa.Column("last_error", sa.Text),
    sa.Column("given_up_at", UTCDateTime),  # gave up on the news of that time
)

# Migration 0006: what the platforms charged (X's pay-per-use): one row a charged request, in micro-dollars.
charges = sa.Table(
    "charges", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("micro_usd", sa.Integer, nullable=False),
    sa.Column("what", sa.String(64), nullable=False),  # X's name of the price: "Content: Create (with URL)"
    sa.Column("delivery_id", sa.Integer),
)
sa.Index("ix_charges_account_at", charges.c.account_id, charges.c.at)

# Migration 0008: the console's people, their sign-ins, and failed sign-ins (for throttling).
users = sa.Table(
    "users", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),  # viewer | editor | admin
    sa.Column("password_hash", sa.Text),  # argon2id; NULL for a WordPress sign-in (its password stays there)
    sa.Column("source", sa.String(16), nullable=False, default="local"),  # local | wordpress
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

console_sessions = sa.Table(
    "console_sessions", metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # SHA-256 of the cookie's random token, never the token
    sa.Column("user_name", sa.String(64), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("seen_at", UTCDateTime, nullable=False),  # last use: it ends console.session_idle after
)
sa.Index("ix_console_sessions_user", console_sessions.c.user_name)

login_failures = sa.Table(
    "login_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)
sa.Index("ix_login_failures_address_at", login_failures.c.address, login_failures.c.at)

# Migration 0009: images at a public address for the platforms that fetch them (Instagram, Threads), and the
# tokens a platform gave in place of the config's (Threads' and Instagram's refreshed long-lived tokens).
hosted_images = sa.Table(
    "hosted_images", metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # SHA-256 of the address's random token, never the token
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("content_type", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)
sa.Index("ix_hosted_images_expires_at", hosted_images.c.expires_at)

account_tokens = sa.Table(
    "account_tokens", metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("token", sa.Text, nullable=False),  # the platform's refreshed token (it replaces the config's)
    sa.Column("source", sa.String(64), nullable=False),  # SHA-256 of the config's token it was refreshed from
    sa.Column("expires_at", UTCDateTime),
    sa.Column("refreshed_at", UTCDateTime, nullable=False),
)
