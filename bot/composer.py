"""The I/O half of composing a post: what the pure ``compose_post`` needs that must be asked for first.

For one account and one article: UTM on the link, the short link (a shortener, cached), the WordPress REST
API's real categories, tags, featured image and excerpt (asked once per stored article), hashtags from
them; then the pure :func:`bot.compose.compose_post` fits the template to the platform's length rule. Every
lookup falls back quietly (the full link, the feed's labels): a post never waits on one.

With ``site.wordpress_user`` the same answer carries the editor's say from the companion plugin
(:class:`bot.feeds.wordpress.EditorSay`): a custom text takes the headline's place (per network, else for all),
and breaking news takes the first of ``cards.breaking`` as a category (so the account's ``priority:``, its
``templates:`` and the card's band see it as they see a WordPress category of that name). Where the editor's say
is expected but the site does not answer, a post waits and asks again for up to :data:`SAY_WAIT` after the
article was first seen (:class:`bot.errors.SayPending`), then goes with the feed's data, logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import requests

from bot.clock import Clock
from bot.compose import compose_post
from bot.compose.hashtags import make_hashtags, tag_keywords
from bot.compose.ids import post_id
from bot.compose.length import LengthRule
from bot.config import AccountConfig, BotConfig
from bot.errors import PostNotThere, SayPending, WordPressError
from bot.feeds.wordpress import WordPressPost, fetch_post
from bot.links import Shortener, add_utm
from bot.models import Article
from bot.policy import priority_of
from bot.pricing import carries_link
from bot.store import Store

log = logging.getLogger("bot")

#: How long after an article is first seen its posts wait for the editor's say when the site does not answer.
SAY_WAIT = timedelta(minutes=5)
#: Seconds the REST API has to answer.
API_TIMEOUT = 5.0


class Composer:
    """Composes each account's post for an article: ``compose`` is what the dispatcher calls at a delivery's
    first attempt, and what previews and manual posts show."""

    def __init__(self, config: BotConfig, store: Store, clock: Clock, *,
                 rule_for: Callable[[AccountConfig], LengthRule], session: Callable[[str], requests.Session],
                 account: Callable[[str], AccountConfig]) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.rule_for = rule_for  #: the length rule of an account's platform
        self.session = session  #: a kept-alive HTTP session by use ("links", "wordpress")
        self.account = account  #: an account of the config by id (a UsageError names the others)

    def compose(self, account_id: str, article: Article, article_id: int | None = None, priority: int = 0) -> str:
        """The text an account posts for an article (raises ComposeError when nothing fits). May ask the
        WordPress REST API (once per article) and a shortener (once per link): both fall back quietly. A post
        the account's link policy sends without its link (``carries_link``) has its link fields empty."""
        account = self.account(account_id)
        site = self.config.site
        article = self.enrich(article, article_id, pending=False)  # the dispatcher waited for the say already
        priority = max(priority, priority_of(account, article))  # the editor may have marked it breaking
        with_link = carries_link(account, priority)
        link = add_utm(article.link, account.utm.model_dump(exclude_none=True) if account.utm else {}) \
            if article.link and with_link else ""
        short = self.shortener(account).short_link(link, article.guid, self.site_url(article)) if link else ""
        article = replace(article, title=article.text_for(account.platform))  # an editor's text, where given
        rules = account.hashtags
        if rules.keywords:
            article = replace(article, title=tag_keywords(article.title, rules.keywords))
        names = {"categories": article.category_names, "tags": article.tag_names,
                 "both": (*article.category_names, *article.tag_names)}[rules.source]
        tags = make_hashtags(names, limit=rules.max, exclude=rules.exclude, mapping=rules.map,
                             always=rules.always, text=article.title)
        return compose_post(
            article, account.template_for(article.category_names), site.name, self.rule_for(account),
            direction=site.text_direction, hashtags=tags, link=link, short_link=short, tz=site.tz,
            date_format=account.date_format, with_link=with_link,
        )

    def site_url(self, article: Article) -> str:
        try:
            return self.config.site_url_of(self.config.feed(article.feed_id))
        except KeyError:  # its feed has left the config
            return self.config.site.url

    def shortener(self, account: AccountConfig) -> Shortener:
        settings = account.short_link or self.config.site.short_link
        return Shortener(settings, self.store, self.session("links"), self.config.agent, self.clock)

    def enrich(self, article: Article, article_id: int | None = None, *, pending: bool = True) -> Article:
        """The article with its real categories, tags and featured image from the WordPress REST API, when
        ``site.wordpress_api`` is on (asked once per stored article; any failure keeps the feed's labels), and
        the editor's say where the answer has it. Raises :class:`SayPending` while the say is expected, the site
        fails, and the article is younger than :data:`SAY_WAIT`."""
        if not self.config.site.wordpress_api:
            return article
        if article_id is None:  # not stored (a preview): ask, keep nothing
            post, _ = self._api_post(article)
            return article if post is None else self._with(article, post)
        if not self.store.api_checked(article_id):
            self.refresh(article_id, article, pending=pending)
        return self.store.article_by_id(article_id)

    def refresh(self, article_id: int, article: Article | None = None, *, pending: bool = True) -> Article | None:
        """Ask the REST API for a stored article now (again), and keep what it says: the article as stored
        then, or None when the site did not answer (noted as asked, unless the editor's say is expected and
        the article is younger than :data:`SAY_WAIT`: then :class:`SayPending` when ``pending``, else None)."""
        stored = article or self.store.article_by_id(article_id)
        post, lasting = self._api_post(stored)
        now = self.clock.now()
        if post is None:
            expected = not lasting and self.config.site.wordpress_auth is not None  # the say, had the site answered
            seen = self.store.first_seen(article_id) if expected else None
            if seen is not None and now - seen < SAY_WAIT:
                if pending:
                    raise SayPending(f"the editor's say for {stored.guid} could not be read from the site yet")
                return None
            if expected and not self.store.api_checked(article_id):
                log.warning("article %s: the editor's say could not be read from the site within %s; posting "
                            "with the feed's data", stored.guid, SAY_WAIT)
            self.store.record_api_data(article_id, now)
            return None
        known = self._with(stored, post)
        say = None if post.say is None else (post.say.share, post.say.text, dict(post.say.texts), post.say.breaking)
        self.store.record_api_data(article_id, now, known.categories, known.tags, post.featured_image, post.excerpt,
                                   say=say)
        return self.store.article_by_id(article_id)

    def _with(self, article: Article, post: WordPressPost) -> Article:
        """The article with what the REST API said of it: its categories (and the breaking label, where the editor
        marked it so), tags, featured image, excerpt and the editor's say."""
        categories = post.categories
        say = post.say
        label = self.config.cards.breaking[0] if self.config.cards.breaking else None
        if say is not None and say.breaking and label and label not in categories:
            categories = (*categories, label)
        article = replace(article, categories=categories, tags=post.tags, featured_image=post.featured_image,
                          excerpt=post.excerpt or None)
        if say is None:
            return article
        return replace(article, share=say.share, custom_text=say.text, custom_texts=tuple(sorted(say.texts.items())),
                       breaking=say.breaking)

    def _api_post(self, article: Article) -> tuple[WordPressPost | None, bool]:
        """The REST API's post, or None and whether that answer lasts (no post id, a 404, credentials refused)."""
        # The id is in a ?p=ID guid, or in the page's rel=shortlink when a short link was made from it.
        pid = post_id(article.guid, article.link) or post_id(
            self.store.cached_short_link("wordpress-page", article.link) or "")
        site = self.config.site
        if pid is None and article.link and site.short_link.page_lookup:
            shortener = Shortener(site.short_link, self.store, self.session("links"), self.config.agent, self.clock)
            pid = post_id(shortener.page_short_link(article.link) or "")
        if pid is None:
            log.info("article %s: no ?p=ID to ask the WordPress API with; using the feed's labels", article.guid)
            return None, True
        try:
            return fetch_post(self.site_url(article), pid, session=self.session("wordpress"), timeout=API_TIMEOUT,
                              user_agent=self.config.agent, auth=self.config.site.wordpress_auth), False
        except WordPressError as exc:
            log.warning("WordPress API failed for post %d, using the feed's labels: %s", pid, exc)
            return None, isinstance(exc, PostNotThere)
