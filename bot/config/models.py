"""The site, its feeds, the daemon's HTTP server, and the whole config (:class:`BotConfig`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import unquote_plus, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic.functional_validators import AfterValidator

from bot.config.accounts import AccountConfig, DiscordAccount
from bot.config.alerts import AlertsConfig
from bot.config.cards import CardsConfig
from bot.config.common import ShortLink, ShortLinkConfig
from bot.config.console import ConsoleConfig
from bot.config.database import normalize_url
from bot.config.values import (
    RTL_LANGUAGES,
    UNSET_SECRET,
    Duration,
    Identifier,
    PositiveDuration,
    Secret,
    Size,
    _at_least,
    _http_url,
    _Model,
    _PathError,
)


class SiteConfig(_Model):
    """The news site the feeds belong to."""

    name: str = Field(min_length=1)
    url: str
    timezone: str = "UTC"
    language: str = "ar"
    direction: Literal["rtl", "ltr"] | None = None
    short_link: ShortLink = ShortLinkConfig()
    wordpress_api: bool = False
    #: A WordPress user who may edit the posts (an editor) and one of its application passwords: the REST API
    #: is then asked with ``context=edit``, which shows the companion plugin's per-post choices (share or
    #: not, a custom text, breaking) that the public view hides.
    wordpress_user: str | None = None
    wordpress_password: Secret | None = None
    #: With ``wordpress_api``: how far back posts out are checked against the site (an article withdrawn there
    #: is a retraction), and how often (one REST request per check for the recent post ids; 0: never)
    retract_window: Duration = timedelta(hours=48)
    retract_check: Duration = timedelta(minutes=10)
    allowed_hosts: list[str] = Field(default_factory=list)

    @field_validator("wordpress_user", "wordpress_password", mode="before")
    @classmethod
    def _unset(cls, v: object) -> object:
        return None if v == "" else v  # ${WP_APP_PASSWORD:-}: not set

    @model_validator(mode="after")
    def _credentials(self) -> SiteConfig:
        if (self.wordpress_user is None) != (self.wordpress_password is None):
            missing = "wordpress_password" if self.wordpress_password is None else "wordpress_user"
            raise _PathError(("site", missing), "wordpress_user and wordpress_password go together (an application "
                                         "password of a WordPress user who can edit the posts)")
        if self.wordpress_user is not None and not self.wordpress_api:
            raise _PathError(("site", "wordpress_api"), "wordpress_user is set but wordpress_api is false: the "
                                                 "credentials are used only to read the REST API")
        return self

    @property
    def wordpress_auth(self) -> tuple[str, str] | None:
        """The REST API's Basic credentials (an application password), when set."""
        if self.wordpress_user is None or self.wordpress_password is None:
            return None
        return self.wordpress_user, self.wordpress_password.get_secret_value()

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v).rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {v!r}; use an IANA name such as Asia/Baghdad or UTC") from exc
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def text_direction(self) -> Literal["rtl", "ltr"]:
        if self.direction:
            return self.direction
        return "rtl" if self.language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


class FeedConfig(_Model):
    """One feed of the site."""

    id: Identifier
    url: str
    interval: Duration = timedelta(seconds=60)
    site_url: str | None = None
    backfill: int = Field(default=0, ge=0, le=1000)
    catch_up_pages: int = Field(default=5, ge=1, le=50)
    timeout: PositiveDuration = timedelta(seconds=20)
    max_size: Size = 10_000_000

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        scheme = urlsplit(v).scheme
        if scheme == "file":
            return v
        return _http_url(v)

    @field_validator("site_url")
    @classmethod
    def _site_url(cls, v: str | None) -> str | None:
        return None if v is None else _http_url(v).rstrip("/")

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: timedelta) -> timedelta:
        if v < timedelta(seconds=10):
            raise ValueError("must be at least 10s (polling faster only burdens the site)")
        return v


class ServerConfig(_Model):
    """The daemon's HTTP side: WordPress's ping, health, metrics (and the console, ``console:``)."""

    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    ping_token: Secret | None = None
    unhealthy_after: int = Field(default=3, ge=1)
    #: /metrics wants ``Authorization: Bearer <token>`` when set.
    metrics_token: Secret | None = None
    #: Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses, or "*").
    trusted_proxies: str = "127.0.0.1"
    #: The HTTP side's address as the internet reaches it (``https://bot.example.com``): images for the
    #: platforms that fetch them from a URL (Instagram, Threads) are put at ``{public_url}/media/…``.
    public_url: str | None = None
    #: The companion WordPress plugin's shared secret: its notices (``POST /wordpress/notice``) are signed with
    #: it (``bot.web.notice``); none: every notice is refused.
    plugin_secret: Secret | None = None

    @field_validator("ping_token", "metrics_token", "plugin_secret", mode="before")
    @classmethod
    def _no_token(cls, v: object) -> object:
        return None if v == "" else v  # ${BOT_PING_TOKEN:-}: no ping endpoint until the token is set

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(_http_url(v))
        if parts.query or parts.fragment:
            raise ValueError("must be an address without a query or fragment, as https://bot.example.com")
        return v.rstrip("/")


class BotConfig(_Model):
    """The whole config file: the site, its feeds and accounts, the database and the daemon's settings; and
    what the rest of the bot asks of a config (a feed by id, its hosts, its accounts, the secrets)."""

    site: SiteConfig
    server: ServerConfig | None = None
    console: ConsoleConfig | None = None
    cards: CardsConfig = Field(default_factory=CardsConfig)
    alerts: AlertsConfig | None = None
    feeds: list[FeedConfig] = Field(min_length=1)
    accounts: list[AccountConfig] = Field(default_factory=list)
    #: sqlite:///PATH or postgresql://USER:PASSWORD@HOST/NAME (postgres:// too); default $DATABASE_URL,
    #: else a SQLite file in data_dir.
    database: str | None = None
    #: Migrate an older database schema when the bot starts, instead of refusing it (`bot migrate`).
    migrate_on_start: bool = False
    data_dir: str = "var"
    user_agent: str | None = None
    dispatch_interval: PositiveDuration = timedelta(seconds=5)
    retention: Annotated[Duration, AfterValidator(_at_least(timedelta(days=1), "1d"))] = timedelta(days=90)
    dispatch_lease: Annotated[Duration, AfterValidator(
        _at_least(timedelta(seconds=5), "5s (and longer than any one send takes)"))] = timedelta(minutes=2)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("database")
    @classmethod
    def _database(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        example = "sqlite:///var/bot.sqlite3 or postgresql://user:password@host/dbname"
        try:
            url = make_url(normalize_url(v))
        except ArgumentError:
            raise ValueError(f"must be a database URL such as {example}") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"{url.get_backend_name()} is not supported; use {example}")
        if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
            raise ValueError(f"the bot talks to PostgreSQL with psycopg; write postgresql://… (not +{url.drivername})")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> BotConfig:
        _unique([f.id for f in self.feeds], "feeds")
        _unique([a.id for a in self.accounts], "accounts")
        if self.alerts:
            seen: set[str] = set()
            for i, channel in enumerate(self.alerts.channels):
                if channel.name in seen:
                    raise _PathError(("alerts", "channels", i, "id"), f"two channels are called {channel.name!r}: "
                                     "give each of them an id of its own")
                seen.add(channel.name)
        for i, account in enumerate(self.accounts):
            size = getattr(account, "card_size", None)
            draws = getattr(account, "image", "none") in ("card", "article_or_card") or \
                "card_size" in account.model_fields_set
            if draws and size is not None and size not in self.cards.sizes:
                raise _PathError(("accounts", i, "card_size"), f"no card size {size!r} in cards.sizes; sizes: "
                                 f"{', '.join(self.cards.sizes)}")
            if draws and account.platform == "instagram" and size in self.cards.sizes:
                width, height = self.cards.sizes[size]
                if not 0.8 <= width / height <= 1.91:
                    raise _PathError(("accounts", i, "card_size"), f"card size {size!r} is {width}×{height}: "
                                     "Instagram takes pictures from 4:5 to 1.91:1 (portrait 1080×1350, square "
                                     "1080×1080)")
            if account.enabled and getattr(account, "needs_public_images", False) and not (
                    self.server and self.server.public_url):  # an account that is off posts nothing
                raise _PathError(("accounts", i, "image"),
                                 f"{account.platform} fetches each post's image from a public address: set "
                                 "server.public_url (the bot's HTTP side as the internet reaches it)")
        known = {f.id for f in self.feeds}
        for i, account in enumerate(self.accounts):
            for j, feed_id in enumerate(account.feeds or []):
                if feed_id not in known:
                    raise _PathError(
                        ("accounts", i, "feeds", j),
                        f"no feed has id {feed_id!r}; feeds here: {', '.join(sorted(known))}",
                    )
        return self

    # What the rest of the bot asks of a config.

    def feed(self, feed_id: str) -> FeedConfig:
        for f in self.feeds:
            if f.id == feed_id:
                return f
        raise KeyError(feed_id)

    def site_url_of(self, feed: FeedConfig) -> str:
        return feed.site_url or self.site.url

    def own_hosts(self, feed: FeedConfig) -> set[str]:
        """Hosts whose links this feed may post: the site's, the feed's site_url and the feed's own host, and
        ``site.allowed_hosts`` (subdomains of each count too)."""
        hosts = {urlsplit(self.site.url).hostname, urlsplit(self.site_url_of(feed)).hostname,
                 urlsplit(feed.url).hostname, *self.site.allowed_hosts}
        return {h.lower().removeprefix("www.") for h in hosts if h}

    def trusted_hosts(self) -> set[str]:
        """Hosts that URLs found in content may lead to whatever their address (``bot.netguard``): every
        feed's own hosts, ``site.allowed_hosts``, and the shorteners' APIs."""
        shorteners = [self.site.short_link, *(a.short_link for a in self.accounts)]
        apis = {urlsplit(s.api_url).hostname for s in shorteners if s is not None and s.api_url}
        hosts = {urlsplit(self.site.url).hostname, *self.site.allowed_hosts, *apis}
        return {*(h for f in self.feeds for h in self.own_hosts(f)), *(h.lower() for h in hosts if h)}

    def accounts_for(self, feed_id: str) -> list[AccountConfig]:
        """Enabled accounts that take articles from this feed."""
        return [a for a in self.accounts if a.enabled and (a.feeds is None or feed_id in a.feeds)]

    def refreshes_tokens(self) -> bool:
        """Whether an enabled account's token is one the bot refreshes (Threads'): the daily token check then
        runs without ``alerts:`` too."""
        return any(a.enabled and getattr(a, "refreshes_token", False) for a in self.accounts)

    def unset_secrets(self) -> list[str]:
        """The accounts whose secrets were not set when a command that needs none loaded the config."""
        return [a.id for a in self.accounts
                if any(v == UNSET_SECRET for v in _secret_values(a))]

    def alerts_unset(self) -> bool:
        """Whether an alert channel's secret was not set when a command that sends nothing loaded the config."""
        return self.alerts is not None and UNSET_SECRET in _secret_values(self.alerts)

    def secrets(self) -> list[str]:
        """Every secret value in the config (tokens, passwords, keys): never to appear in a log."""
        found = [v for v in _secret_values(self) if v != UNSET_SECRET]
        for account in self.accounts:  # a Discord webhook's token, as it may be quoted alone
            token = account.webhook_parts[1] if isinstance(account, DiscordAccount) else ""
            if token:
                found.append(token)
        for settings in [self.site.short_link, *(a.short_link for a in self.accounts if a.short_link)]:
            if settings.token:
                found.append(settings.token)
        if self.database:
            from sqlalchemy.engine import make_url

            password = make_url(self.database).password
            if password:
                found.append(str(password))
        for feed in self.feeds:  # a feed's address may carry a login or a token (its error messages quote it)
            parts = urlsplit(feed.url)
            if parts.password:
                found.append(parts.password)
            for raw in parts.query.split("&"):  # as written (percent-encoded) and as meant
                name, _, value = raw.partition("=")
                if _SECRET_PARAM.search(unquote_plus(name)) and value:
                    found += [value, unquote_plus(value)]
        return found

    @property
    def unhealthy_after(self) -> int:
        """Failed polls in a row after which a feed is unhealthy (``/healthz``) and its operators are told."""
        return self.server.unhealthy_after if self.server else ServerConfig.model_fields["unhealthy_after"].default

    @property
    def agent(self) -> str:
        from bot import __version__

        return self.user_agent or f"wp-social-bot/{__version__} (+{self.site.url})"


#: Query parameters of a feed's address that hold a secret.
_SECRET_PARAM = re.compile(r"token|key|secret|pass|auth|sig", re.IGNORECASE)


def _secret_values(model: BaseModel) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(model)
    return found


def _unique(ids: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise _PathError((where, i, "id"), f"id {x!r} is used twice; each {where[:-1]} needs its own id")
        seen.add(x)
