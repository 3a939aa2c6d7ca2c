"""The accounts: one model per platform, on a common base (filters, limits, templates), and their union."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Literal, Union
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic.functional_validators import AfterValidator

from bot.compose.template import DEFAULT_TEMPLATE
from bot.config.common import Approval, ApprovalConfig, HashtagConfig, Limits, NameFilter, ShortLink, UtmConfig
from bot.config.values import (
    HOSTNAME,
    UNSET_SECRET,
    BaseURL,
    Duration,
    Identifier,
    ImageMode,
    NumericId,
    PositiveDuration,
    Secret,
    TelegramChat,
    Template,
    _http_url,
    _Model,
    _quiet_hours,
    _regex,
)


class _AccountBase(_Model):
    """What every account has, whatever its platform: which articles it takes (feeds, filters, age), which of
    them wait for a person's approval, when and how often it posts (limits, quiet hours, priority), and how a
    post is written."""

    id: Identifier
    enabled: bool = True
    categories: NameFilter = NameFilter()
    tags: NameFilter = NameFilter()
    title_matches: Annotated[str | None, AfterValidator(_regex)] = None
    title_excludes: Annotated[str | None, AfterValidator(_regex)] = None
    max_article_age: Duration | None = None
    limits: Limits = Limits()
    quiet_hours: Annotated[str | None, AfterValidator(_quiet_hours)] = None
    stale_after: Duration | None = None
    priority: dict[str, int] = Field(default_factory=dict)
    #: What a correction on the site (a changed headline, or the editor's text) does to a post already out:
    #: ignore it, update the post in place where the platform lets posts be edited (else ``on_edit_fallback``),
    #: or repost (a new post; the old one stays)
    on_edit: Literal["ignore", "update", "repost"] = "ignore"
    on_edit_fallback: Literal["ignore", "repost"] = "ignore"
    #: How long a new article's post waits before it goes, so that a quick fix on the site reaches the post
    #: itself rather than a correction (none by default: posts go at once)
    settle: Duration = timedelta(0)
    #: What the article's withdrawal on the site (unpublished, private, trashed, deleted) does to its posts out:
    #: flag them for a person (``bot status``, the console's overview: one action deletes them all), or delete
    #: them wherever the platform allows it
    on_retract: Literal["flag", "delete"] = "flag"
    repost_on_edit: bool = False  #: the older name of ``on_edit: repost``
    approval: Approval = ApprovalConfig()
    template: Template = DEFAULT_TEMPLATE
    templates: dict[str, Template] = Field(default_factory=dict)
    date_format: str = "%Y-%m-%d %H:%M"
    hashtags: HashtagConfig = HashtagConfig()
    short_link: ShortLink | None = None
    utm: UtmConfig | None = None
    feeds: list[str] | None = None
    #: when the account's token expires, for a platform that does not say (Facebook does, and is asked)
    token_expires: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _repost_on_edit(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("repost_on_edit") is True:
            if data.get("on_edit", "repost") != "repost":
                raise ValueError(f"repost_on_edit: true is the older name of on_edit: repost, and on_edit is "
                                 f"{data['on_edit']}: keep only on_edit")
            data = {**data, "on_edit": "repost"}
        return data

    def template_for(self, names: Sequence[str]) -> str:
        """The template for an article with these categories: the first of ``templates`` it has, else
        ``template``."""
        from bot.compose.hashtags import same_name

        for category, template in self.templates.items():
            if any(same_name(category, n) for n in names):
                return template
        return self.template


class ConsoleAccount(_AccountBase):
    """Prints each post as a readable block (the demo and dry runs); can also append JSON lines to a file."""

    platform: Literal["console"]
    count_as: Literal["x", "mastodon", "bluesky", "telegram", "telegram_caption", "facebook", "discord",
                      "instagram",
                      "threads"] | None = None
    max_length: int | None = Field(default=280, ge=1)
    url_length: int | None = Field(default=23, ge=1)
    output: str | None = None
    #: show the picture the post would carry (the article's image's address, or the card's file)
    image: ImageMode = "none"
    card_size: str = "landscape"


class XCredentials(_Model):
    """OAuth 1.0a user context: the app's consumer key and secret, the account's access token and secret."""

    consumer_key: Secret
    consumer_secret: Secret
    access_token: Secret
    access_token_secret: Secret


class XPrices(_Model):
    """What X charges, in US dollars (its pay-per-use table, docs.x.com, read 2026-12; "subject to change":
    set them as X's Developer Console shows them)."""

    post: float = Field(default=0.015, ge=0)  #: Content: Create, per request
    post_with_url: float = Field(default=0.200, ge=0)  #: Content: Create (with URL), per request
    user_read: float = Field(default=0.010, ge=0)  #: User: Read, per resource (bot check's GET /2/users/me)
    delete: float = Field(default=0.010, ge=0)  #: Interaction: Delete, per request (bot unpost)


class XBudget(_Model):
    """How much an X account may spend: a post that would go over waits, like a quota, until the day or the
    billing cycle begins again (in the site's timezone)."""

    per_day: float | None = Field(default=None, gt=0)
    per_month: float | None = Field(default=None, gt=0)
    #: the day of the month the billing cycle begins (X's Developer Console says it; a short month's last day
    #: when it has fewer days)
    cycle_day: int = Field(default=1, ge=1, le=31)


class XAccount(_AccountBase):
    """An X (Twitter) account, posting through X API v2."""

    platform: Literal["x"]
    credentials: XCredentials
    base_url: BaseURL = None
    image: ImageMode = "none"
    card_size: str = "landscape"
    timeout: PositiveDuration = timedelta(seconds=20)
    prices: XPrices = XPrices()
    budget: XBudget = XBudget()
    #: always: every post carries its link ($0.200 at X's prices); never: none does ($0.015); priority:
    #: only posts of ``link_priority`` or more (``priority: {عاجل: 10}``) do
    link: Literal["always", "priority", "never"] = "always"
    link_priority: int = 1

    @model_validator(mode="after")
    def _budget_fits_a_post(self) -> XAccount:
        """A budget smaller than the post its link policy makes would hold every post back for ever."""
        dearest = self.prices.post if self.link == "never" else self.prices.post_with_url
        for name, limit in (("per_day", self.budget.per_day), ("per_month", self.budget.per_month)):
            if limit is not None and limit < dearest:
                raise ValueError(f"budget.{name} ${limit:.3f} is less than one post costs (${dearest:.3f} with "
                                 f"link: {self.link}): no post would ever go")
        return self


class TelegramAccount(_AccountBase):
    """A Telegram channel (or group) that a bot posts to."""

    platform: Literal["telegram"]
    bot_token: Secret
    chat_id: TelegramChat
    image: ImageMode = "none"
    card_size: str = "landscape"
    parse_mode: Literal["none", "HTML"] = "none"
    link_preview: bool = True
    base_url: BaseURL = None
    timeout: PositiveDuration = timedelta(seconds=20)


class FacebookAccount(_AccountBase):
    """A Facebook Page, with a Page access token that has pages_manage_posts."""

    platform: Literal["facebook"]
    page_id: NumericId
    page_token: Secret
    #: a photo post (``/{page-id}/photos``) with this picture instead of a link post; ``photo: true`` is
    #: ``image: article``
    image: ImageMode = "none"
    photo: bool = False
    card_size: str = "landscape"
    base_url: BaseURL = None
    timeout: PositiveDuration = timedelta(seconds=20)

    @model_validator(mode="after")
    def _photo_is_article(self) -> FacebookAccount:
        """``photo: true`` (what it always said) is ``image: article`` when no ``image`` is given."""
        if not self.photo:
            return self
        if "image" not in self.model_fields_set:
            return self.model_copy(update={"image": "article"})
        if self.image == "none":
            raise ValueError("photo: true and image: none disagree: say image: article (photo: true is that), "
                             "or leave photo out")
        return self


class MastodonAccount(_AccountBase):
    """A Mastodon account, with an access token that has the write:statuses and write:media scopes."""

    platform: Literal["mastodon"]
    instance: str
    access_token: Secret
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    language: str = "ar"
    max_length: int = Field(default=500, ge=1)
    image: ImageMode = "none"
    card_size: str = "landscape"
    timeout: PositiveDuration = timedelta(seconds=20)

    @field_validator("instance")
    @classmethod
    def _instance(cls, v: str) -> str:
        return _http_url(v if "://" in v else f"https://{v}").rstrip("/")


class BlueskyAccount(_AccountBase):
    """A Bluesky account, posting with an app password (Settings → Privacy and security → App passwords)."""

    platform: Literal["bluesky"]
    handle: Annotated[str, Field(pattern=HOSTNAME)]
    app_password: Secret
    base_url: BaseURL = None
    language: str = "ar"
    link_card: bool = True
    #: the link card's thumbnail: the article's image (as always), a headline card, or none
    image: ImageMode = "article"
    card_size: str = "landscape"
    timeout: PositiveDuration = timedelta(seconds=20)

    @field_validator("handle", mode="before")
    @classmethod
    def _handle(cls, v: object) -> object:
        return v.lstrip("@") if isinstance(v, str) else v


#: Discord's own webhook addresses: ``https://discord.com/api/webhooks/<id>/<token>`` (``discordapp.com``, the
#: ``ptb.`` and ``canary.`` hosts and a versioned ``/api/v10/`` path too).
DISCORD_HOSTS = ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com")
WEBHOOK_PATH = re.compile(r"/api(?:/v\d+)?/webhooks/(\d+)/([A-Za-z0-9_-]+)/?")


class DiscordAccount(_AccountBase):
    """A Discord channel, through one of its webhooks (Channel settings → Integrations → Webhooks)."""

    platform: Literal["discord"]
    base_url: BaseURL = None
    #: the webhook's URL: it holds the webhook's token, so it is a secret (``${DISCORD_WEBHOOK_URL}``)
    webhook_url: Secret
    embed: bool = True
    #: the embed's picture: the article's first image (by its address) | card (uploaded) | article_or_card |
    #: none
    image: ImageMode = "article"
    card_size: str = "landscape"
    username: Annotated[str | None, Field(min_length=1, max_length=80)] = None
    avatar_url: Annotated[str | None, AfterValidator(_http_url)] = None
    #: the Discord server's id, for links to the posts (Discord's answer to a webhook does not say it)
    guild_id: NumericId | None = None
    timeout: PositiveDuration = timedelta(seconds=20)

    @field_validator("webhook_url")
    @classmethod
    def _a_webhook(cls, v: SecretStr, info: ValidationInfo) -> SecretStr:
        """A Discord webhook's URL (on any host when ``base_url`` sends it elsewhere); the error never repeats
        the URL, which holds the token."""
        url = v.get_secret_value()
        if url == UNSET_SECRET:  # a command that reaches no platform, without the secret set
            return v
        parts = urlsplit(url)
        if not WEBHOOK_PATH.fullmatch(parts.path) or parts.query or parts.fragment or (
                info.data.get("base_url") is None and (parts.scheme != "https" or parts.hostname not in DISCORD_HOSTS)):
            raise ValueError("must be a Discord webhook's URL, https://discord.com/api/webhooks/<id>/<token> "
                             "(the channel's settings → Integrations → Webhooks → Copy Webhook URL)")
        return v

    @property
    def webhook_id(self) -> str:
        """The webhook's id (its URL without the token: safe to log)."""
        return self.webhook_parts[0]

    @property
    def webhook_parts(self) -> tuple[str, str]:
        """The webhook's id and its token (both empty while the secret is unset)."""
        m = WEBHOOK_PATH.fullmatch(urlsplit(self.webhook_url.get_secret_value()).path)
        return (m[1], m[2]) if m else ("", "")


#: An Instagram caption: the headline, the excerpt, where the link would be, and the hashtags.
INSTAGRAM_TEMPLATE = "{title}\n\n{excerpt}\n\n{short_link}\n\n{hashtags}"
#: What an Instagram caption says where its template shows the link: a link there is not clickable.
INSTAGRAM_LINK_LINE = "🔗 الرابط في الملف الشخصي"


class InstagramAccount(_AccountBase):
    """An Instagram professional account (business or creator), posting pictures with captions through the
    Instagram Graph API's content publishing; Instagram fetches each picture from the bot's public address."""

    platform: Literal["instagram"]
    #: the Instagram professional account's id (Graph API: ``GET /me/accounts?fields=instagram_business_account``)
    user_id: NumericId
    access_token: Secret
    #: graph.facebook.com (Instagram API with Facebook Login, the Page's token) or https://graph.instagram.com
    #: (with Instagram Login, the Instagram user's token); the version, v26.0, is added to it
    base_url: BaseURL = "https://graph.facebook.com"
    #: Instagram takes only pictures: the article's image, a headline card, or a card when the article has none
    image: ImageMode = "article_or_card"
    card_size: str = "portrait"
    #: each request to Instagram, and how long its container may take to be ready
    timeout: PositiveDuration = timedelta(seconds=30)
    template: Template = INSTAGRAM_TEMPLATE
    #: what the caption says where the template shows the link (``{short_link}`` in it shows the bare
    #: address, which a reader can copy but not tap); none: the link's lines go
    link_line: Template | None = INSTAGRAM_LINK_LINE
    #: hashtags in a caption, the headline's and the template's with the account's: Instagram documents 30, and
    #: since December 2025 its app takes 5 per post
    max_hashtags: int = Field(default=5, ge=0, le=30)

    @field_validator("image")
    @classmethod
    def _a_picture(cls, v: str) -> str:
        if v == "none":
            raise ValueError("Instagram posts only pictures: article, card or article_or_card (a card when the "
                             "article has no image), not none")
        return v

    @property
    def needs_public_images(self) -> bool:
        """Instagram fetches each picture from a URL: the config must give the bot a public address."""
        return True

    def template_for(self, names: Sequence[str]) -> str:
        """The template for an article with these categories, with ``link_line`` where it shows the link."""
        from bot.compose import with_link_line

        return with_link_line(super().template_for(names), self.link_line)


class ThreadsAccount(_AccountBase):
    """A Threads profile, through Meta's Threads API with a long-lived user token (threads_basic and
    threads_content_publish; threads_delete for ``bot unpost``), which the bot refreshes itself."""

    platform: Literal["threads"]
    user_id: NumericId
    #: the long-lived token as first made; the bot refreshes it and keeps the refreshed one in its store
    access_token: Secret
    #: another server speaking the Threads API (tests); the API's version path is v1.0
    base_url: BaseURL = None
    #: none: a text post with the article's link as its link card; else an image post with that picture
    image: ImageMode = "none"
    card_size: str = "landscape"
    #: each request's timeout, and how long an image container may take to be ready
    timeout: PositiveDuration = timedelta(seconds=20)
    #: Threads makes only a post's first #tag its topic: one hashtag, at most
    hashtags: HashtagConfig = HashtagConfig(max=1)

    @model_validator(mode="before")
    @classmethod
    def _one_hashtag_unless_told(cls, data: object) -> object:
        """``hashtags: {source: tags}`` without ``max`` makes one, as no ``hashtags`` does."""
        tags = data.get("hashtags") if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(tags, dict) and "max" not in tags:
            return {**data, "hashtags": {**tags, "max": 1}}
        return data

    @model_validator(mode="after")
    def _one_topic(self) -> ThreadsAccount:
        """One hashtag (a topic) at most, and no ``token_expires``: the bot knows when its token ends."""
        if self.hashtags.max + len(self.hashtags.keywords) > 1:
            raise ValueError("Threads makes only a post's first #tag its topic (the others stay plain text): give "
                             "hashtags.max 1 and no keywords, or max 0 and one keyword")
        if self.token_expires is not None:
            raise ValueError("token_expires is not for threads: the bot refreshes the token and learns when it "
                             "expires from Threads")
        return self

    @property
    def needs_public_images(self) -> bool:
        """Threads fetches an image post's picture from a public address (``server.public_url``)."""
        return self.image != "none"

    @property
    def refreshes_token(self) -> bool:
        """The bot refreshes this account's long-lived token (the daily token check, ``bot.alerts``)."""
        return True


AccountConfig = Annotated[Union[ConsoleAccount, XAccount, TelegramAccount, FacebookAccount,  # noqa: UP007
                                MastodonAccount, BlueskyAccount, DiscordAccount, InstagramAccount, ThreadsAccount],
                          Field(discriminator="platform")]
