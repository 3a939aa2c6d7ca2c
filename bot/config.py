"""The config file: one YAML file describes one site, its feeds and its accounts.

Loading goes: read YAML (keeping each key's line) → fill ``${VAR}`` / ``${VAR:-default}`` from the
environment (then an optional ``.env`` beside the file) → validate with typed models → resolve paths.
Every mistake becomes a :class:`~bot.errors.ConfigError` naming the file, the key path, the line and
what is allowed. Relative paths in the file (``file:`` feeds, output files) are relative to the file's
own folder; ``data_dir`` is relative to the working directory, where the daemon keeps its state.
"""

from __future__ import annotations

import os
import re
import types
import typing
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit
from urllib.request import pathname2url
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.functional_validators import AfterValidator, BeforeValidator

from bot.compose.template import DEFAULT_TEMPLATE, canonical, template_problems
from bot.errors import ConfigError, ConfigProblem

DEFAULT_CONFIG = "config/bot.yaml"
RTL_LANGUAGES = frozenset({"ar", "fa", "ur", "he", "yi", "ps", "ckb", "sd", "ug", "dv"})

# --- value types -------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> timedelta:
    """``90``, ``"60s"``, ``"5m"``, ``"1h30m"``, ``"2d"`` → timedelta. Plain numbers are seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 60s, 5m, 1h")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return timedelta(seconds=float(text))
        if text and re.fullmatch(f"(?:{_DURATION_PART.pattern})+", text):
            total = sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(text))
            return timedelta(seconds=total)
    raise ValueError(f"expected a duration such as 60s, 5m, 1h or 1h30m, got {value!r}")


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_size(value: object) -> int:
    """``1048576``, ``"512KB"``, ``"10MB"``, ``"5MiB"`` → bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and (m := _SIZE.fullmatch(value.strip())):
        return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    raise ValueError(f"expected a size such as 512KB or 10MB, got {value!r}")


def _positive(d: timedelta) -> timedelta:
    if d <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return d


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// address, got {value!r}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _at_least(limit: timedelta, shown: str) -> Callable[[timedelta], timedelta]:
    def check(v: timedelta) -> timedelta:
        if v < limit:
            raise ValueError(f"must be at least {shown}")
        return v
    return check


def _base_url(v: str | None) -> str | None:
    return None if v is None else _http_url(v).rstrip("/")


#: A duration longer than 0s.
PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
#: Another server speaking the same API (tests, compatible services); None: the platform's own.
BaseURL = Annotated[str | None, AfterValidator(_base_url)]


# --- the schema -----------------------------------------------------------------------------------------


def _short_link_shorthand(value: object) -> object:
    return {"kind": value} if isinstance(value, str) else value


class ShortLinkConfig(_Model):
    """How short links are made: ``wordpress`` (?p=ID), ``yourls``, ``bitly`` or ``none``."""

    kind: Literal["wordpress", "yourls", "bitly", "none"] = "wordpress"
    api_url: str | None = None
    token: str | None = None
    domain: str | None = None
    page_lookup: bool = True
    timeout: Duration = timedelta(seconds=3)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str | None) -> str | None:
        return None if v is None else _http_url(v)

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, v: timedelta) -> timedelta:
        if not timedelta(0) < v <= timedelta(seconds=10):
            raise ValueError("must be between 0s and 10s: a post never waits long for a shortener")
        return v

    @model_validator(mode="after")
    def _complete(self) -> ShortLinkConfig:
        if self.kind == "yourls" and not (self.api_url and self.token):
            raise ValueError("yourls needs api_url (its yourls-api.php) and token (the signature token)")
        if self.kind == "bitly" and not self.token:
            raise ValueError("bitly needs token (a Bitly access token)")
        return self


ShortLink = Annotated[ShortLinkConfig, BeforeValidator(_short_link_shorthand)]


class SiteConfig(_Model):
    """The news site the feeds belong to."""

    name: str = Field(min_length=1)
    url: str
    timezone: str = "UTC"
    language: str = "ar"
    direction: Literal["rtl", "ltr"] | None = None
    short_link: ShortLink = ShortLinkConfig()
    wordpress_api: bool = False
    allowed_hosts: list[str] = Field(default_factory=list)

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



def _checked_template(v: str) -> str:
    problems = template_problems(v)
    if problems:
        raise ValueError("; ".join(problems))
    return canonical(v)


Template = Annotated[str, AfterValidator(_checked_template)]


class HashtagConfig(_Model):
    """Hashtags from the article's categories and/or tags."""

    source: Literal["categories", "tags", "both"] = "both"
    max: int = Field(default=3, ge=0, le=30)
    exclude: list[str] = Field(default_factory=list)
    map: dict[str, str] = Field(default_factory=dict)
    always: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


class UtmConfig(_Model):
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None


class NameFilter(_Model):
    """Categories or tags an article must have one of (include) or none of (exclude)."""

    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class Limits(_Model):
    per_day: int | None = Field(default=None, ge=1)
    per_hour: int | None = Field(default=None, ge=1)
    min_interval: Duration | None = None


def _regex(v: str | None) -> str | None:
    if v is None:
        return v
    try:
        re.compile(v)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return v


def _quiet_hours(v: str | None) -> str | None:
    if v is None:
        return v
    m = re.fullmatch(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*", v)
    if not m:
        raise ValueError("must be like 01:00-06:00 (24-hour clock, in the site's timezone)")
    return f"{int(m[1]):02d}:{m[2]}-{int(m[3]):02d}:{m[4]}"


class _AccountBase(_Model):
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
    repost_on_edit: bool = False
    template: Template = DEFAULT_TEMPLATE
    templates: dict[str, Template] = Field(default_factory=dict)
    date_format: str = "%Y-%m-%d %H:%M"
    hashtags: HashtagConfig = HashtagConfig()
    short_link: ShortLink | None = None
    utm: UtmConfig | None = None
    feeds: list[str] | None = None

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
    count_as: Literal["x", "mastodon", "bluesky", "telegram", "telegram_caption", "facebook"] | None = None
    max_length: int | None = Field(default=280, ge=1)
    url_length: int | None = Field(default=23, ge=1)
    output: str | None = None


Secret = Annotated[SecretStr, Field(min_length=1)]


class XCredentials(_Model):
    """OAuth 1.0a user context: the app's consumer key and secret, the account's access token and secret."""

    consumer_key: Secret
    consumer_secret: Secret
    access_token: Secret
    access_token_secret: Secret


class XAccount(_AccountBase):
    """An X (Twitter) account, posting through X API v2."""

    platform: Literal["x"]
    credentials: XCredentials
    base_url: BaseURL = None
    image: bool = False
    timeout: PositiveDuration = timedelta(seconds=20)



class TelegramAccount(_AccountBase):
    """A Telegram channel (or group) that a bot posts to."""

    platform: Literal["telegram"]
    bot_token: Secret
    chat_id: int | str
    image: bool = False
    parse_mode: Literal["none", "HTML"] = "none"
    link_preview: bool = True
    base_url: BaseURL = None
    timeout: PositiveDuration = timedelta(seconds=20)

    @field_validator("chat_id")
    @classmethod
    def _chat_id(cls, v: int | str) -> int | str:
        if isinstance(v, int) or (isinstance(v, str) and v.startswith("@") and len(v) > 1):
            return v
        if isinstance(v, str) and v.lstrip("-").isdigit():
            return int(v)
        raise ValueError("must be @channelname or a numeric chat id such as -1001234567890")



class FacebookAccount(_AccountBase):
    """A Facebook Page, with a Page access token that has pages_manage_posts."""

    platform: Literal["facebook"]
    page_id: Annotated[str, Field(pattern=r"^\d+$")]
    page_token: Secret
    photo: bool = False
    base_url: BaseURL = None
    timeout: PositiveDuration = timedelta(seconds=20)

    @field_validator("page_id", mode="before")
    @classmethod
    def _page_id(cls, v: object) -> object:
        return str(v) if isinstance(v, int) else v



class MastodonAccount(_AccountBase):
    """A Mastodon account, with an access token that has the write:statuses and write:media scopes."""

    platform: Literal["mastodon"]
    instance: str
    access_token: Secret
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    language: str = "ar"
    max_length: int = Field(default=500, ge=1)
    image: bool = False
    timeout: PositiveDuration = timedelta(seconds=20)

    @field_validator("instance")
    @classmethod
    def _instance(cls, v: str) -> str:
        return _http_url(v if "://" in v else f"https://{v}").rstrip("/")



class BlueskyAccount(_AccountBase):
    """A Bluesky account, posting with an app password (Settings → Privacy and security → App passwords)."""

    platform: Literal["bluesky"]
    handle: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")]
    app_password: Secret
    base_url: BaseURL = None
    language: str = "ar"
    link_card: bool = True
    timeout: PositiveDuration = timedelta(seconds=20)

    @field_validator("handle", mode="before")
    @classmethod
    def _handle(cls, v: object) -> object:
        return v.lstrip("@") if isinstance(v, str) else v



AccountConfig = Annotated[Union[ConsoleAccount, XAccount, TelegramAccount, FacebookAccount,  # noqa: UP007
                                MastodonAccount, BlueskyAccount], Field(discriminator="platform")]


class ServerConfig(_Model):
    """The daemon's small HTTP side: WordPress's ping, health and metrics."""

    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    ping_token: Secret | None = None
    unhealthy_after: int = Field(default=3, ge=1)


class BotConfig(_Model):
    site: SiteConfig
    server: ServerConfig | None = None
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

        from bot.store import normalize_url

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

    def accounts_for(self, feed_id: str) -> list[AccountConfig]:
        """Enabled accounts that take articles from this feed."""
        return [a for a in self.accounts if a.enabled and (a.feeds is None or feed_id in a.feeds)]

    def secrets(self) -> list[str]:
        """Every secret value in the config (tokens, passwords, keys): never to appear in a log."""
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

        walk(self)
        for settings in [self.site.short_link, *(a.short_link for a in self.accounts if a.short_link)]:
            if settings.token:
                found.append(settings.token)
        if self.database:
            from sqlalchemy.engine import make_url

            password = make_url(self.database).password
            if password:
                found.append(str(password))
        return found

    @property
    def agent(self) -> str:
        from bot import __version__

        return self.user_agent or f"wp-social-bot/{__version__} (+{self.site.url})"


class _PathError(ValueError):
    """A cross-field problem that knows which key it is about."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _unique(ids: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise _PathError((where, i, "id"), f"id {x!r} is used twice; each {where[:-1]} needs its own id")
        seen.add(x)


# --- loading ----------------------------------------------------------------------------------------------


def config_path(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """``--config PATH``, else ``$BOT_CONFIG``, else ``config/bot.yaml``."""
    env = os.environ if environ is None else environ
    return Path(explicit or env.get("BOT_CONFIG") or DEFAULT_CONFIG)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> BotConfig:
    """Read, interpolate, validate and resolve a config file. Raises ConfigError."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            name,
            [ConfigProblem("", "file not found (give --config PATH or set BOT_CONFIG; "
                               "config/demo.yaml runs with no credentials)")],
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, [ConfigProblem("", f"cannot read the file: {exc}")]) from exc
    env = dict(_read_dotenv(path.parent / ".env", name))
    env.update(os.environ if environ is None else environ)
    return parse_config(text, name, env, base_dir=path.parent)


def parse_config(text: str, name: str, environ: Mapping[str, str], base_dir: Path) -> BotConfig:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(name, [ConfigProblem("", f"not valid YAML: {exc.problem}", line)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(name, [ConfigProblem("", f"not valid YAML: {exc}")]) from None
    lines = _key_lines(node)
    if not isinstance(data, dict):
        raise ConfigError(name, [ConfigProblem("", "the file must be a mapping with site, feeds and accounts")])
    problems: list[ConfigProblem] = []
    data = _interpolate(data, (), environ, problems, lines)
    if problems:
        raise ConfigError(name, problems)
    if data.get("database") is None and environ.get("DATABASE_URL"):
        data["database"] = environ["DATABASE_URL"]  # Heroku and most hosts give the database this way
    try:
        config = BotConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(name, _explain(exc, data, lines)) from None
    except _PathError as exc:  # pragma: no cover - pydantic wraps it; kept for safety
        raise ConfigError(name, [ConfigProblem(_show(exc.path), exc.message, _line(lines, exc.path))]) from None
    return _resolve_paths(config, base_dir)


def _resolve_paths(config: BotConfig, base_dir: Path) -> BotConfig:
    feeds = []
    for feed in config.feeds:
        parts = urlsplit(feed.url)
        if parts.scheme == "file":
            raw = feed.url[len("file:"):]
            raw = raw[2:] if raw.startswith("//") else raw
            p = Path(raw)
            if not p.is_absolute():
                p = (base_dir / p).resolve()
            feed = feed.model_copy(update={"url": "file://" + pathname2url(str(p))})
        feeds.append(feed)
    accounts = []
    for account in config.accounts:
        if isinstance(account, ConsoleAccount) and account.output and not Path(account.output).is_absolute():
            account = account.model_copy(update={"output": str((base_dir / account.output).resolve())})
        accounts.append(account)
    return config.model_copy(update={"feeds": feeds, "accounts": accounts})


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(value: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """Fill ``${VAR}`` and ``${VAR:-default}``; ``$$`` is a literal ``$``. Returns (text, missing names)."""
    missing: list[str] = []

    def fill(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        var, default = m.group(1), m.group(2)
        got = environ.get(var)
        if got is None or (got == "" and default is not None):
            if default is None:
                missing.append(var)
                return ""
            return default
        return got

    return _VAR.sub(fill, value), missing


def _interpolate(
    data: Any, path: tuple[str | int, ...], env: Mapping[str, str],
    problems: list[ConfigProblem], lines: dict[tuple[str | int, ...], int],
) -> Any:
    if isinstance(data, dict):
        return {k: _interpolate(v, (*path, k), env, problems, lines) for k, v in data.items()}
    if isinstance(data, list):
        return [_interpolate(v, (*path, i), env, problems, lines) for i, v in enumerate(data)]
    if isinstance(data, str) and "$" in data:
        text, missing = interpolate(data, env)
        for var in missing:
            problems.append(ConfigProblem(
                _show(path),
                f"environment variable {var} is not set (set it, put it in .env beside the config, "
                f"or write ${{{var}:-default}})",
                _line(lines, path),
            ))
        return text
    return data


def _read_dotenv(path: Path, config_name: str) -> dict[str, str]:
    """KEY=VALUE lines; ``#`` comments, ``export`` prefixes and quotes allowed. The environment wins."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(config_name, [ConfigProblem("", f"cannot read {path}: {exc}")]) from exc
    values: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(str(path), [ConfigProblem("", "expected KEY=VALUE", n)])
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


# --- turning pydantic's errors into a person's message ------------------------------------------------


def _key_lines(node: yaml.Node | None) -> dict[tuple[str | int, ...], int]:
    """Map each key path of the YAML document to its 1-based line."""
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(n: yaml.Node, path: tuple[str | int, ...]) -> None:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
                lines[(*path, key)] = k.start_mark.line + 1
                walk(v, (*path, key))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*path, i))

    if node is not None:
        walk(node, ())
    return lines


def _line(lines: dict[tuple[str | int, ...], int], path: tuple[str | int, ...]) -> int | None:
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return None


def _show(path: Sequence[str | int]) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
    return out


def _data_path(loc: Sequence[str | int], data: Any) -> tuple[str | int, ...]:
    """pydantic's loc without the union tags it inserts (``accounts.0.console.template``)."""
    path: list[str | int] = []
    cur = data
    for seg in loc:
        if isinstance(cur, dict) and isinstance(seg, str) and seg not in cur and cur.get("platform") == seg:
            continue  # the discriminator's tag, not a key in the file
        path.append(seg)
        cur = _child(cur, seg)
    return tuple(path)


def _strip(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
            else:
                return tuple(args)
        else:
            return tp


def _model_at(path: Sequence[str | int], data: Any) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path`` of the data."""
    tp: Any = BotConfig
    cur = data
    for seg in path:
        tp = _strip(tp)
        if isinstance(tp, tuple):  # a union of account models: pick by platform
            platform = cur.get("platform") if isinstance(cur, dict) else None
            tp = next((m for m in tp if _platform_of(m) == platform), None)
            if tp is None:
                return None
        if isinstance(seg, int):
            if typing.get_origin(tp) is not list:
                return None
            tp = typing.get_args(tp)[0]
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and seg in tp.model_fields:
            tp = tp.model_fields[seg].annotation
        else:
            return None
        cur = _child(cur, seg)
    tp = _strip(tp)
    if isinstance(tp, tuple):
        platform = cur.get("platform") if isinstance(cur, dict) else None
        tp = next((m for m in tp if _platform_of(m) == platform), None)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _child(container: Any, seg: str | int) -> Any:
    """``container[seg]`` when the data has it, else None."""
    if isinstance(container, dict):
        return container.get(seg)
    if isinstance(container, list) and isinstance(seg, int) and 0 <= seg < len(container):
        return container[seg]
    return None


def _platform_of(model: Any) -> str | None:
    field = getattr(model, "model_fields", {}).get("platform")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return args[0] if args else None


def platforms() -> list[str]:
    """The platform names an account may have."""
    members = _strip(AccountConfig)
    return [p for p in (_platform_of(m) for m in (members if isinstance(members, tuple) else (members,))) if p]


_SECRETISH = re.compile(r"token|secret|password|key", re.IGNORECASE)


def _explain(exc: ValidationError, data: Any, lines: dict[tuple[str | int, ...], int]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for err in exc.errors(include_url=False):
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _PathError):
            path = ctx_error.path
            problems.append(ConfigProblem(_show(path), ctx_error.message, _line(lines, path)))
            continue
        path = _data_path(err["loc"], data)
        kind = err["type"]
        if kind == "extra_forbidden":
            model = _model_at(path[:-1], data)
            allowed = ", ".join(model.model_fields) if model else "see config/bot.example.yaml"
            msg = f"unknown key {path[-1]!r}; allowed here: {allowed}"
        elif kind == "missing":
            msg = "required, but missing"
        elif kind == "union_tag_invalid":
            got = (err.get("ctx") or {}).get("tag")
            msg = f"unknown platform {got!r}; allowed: {', '.join(platforms())}"
            path = (*path, "platform")
        elif kind == "union_tag_not_found":
            msg = f"missing 'platform'; allowed: {', '.join(platforms())}"
        elif kind == "value_error":
            msg = str(ctx_error) if ctx_error else err["msg"]
        else:
            msg = _reword(err["msg"])
            last = path[-1] if path else ""
            if isinstance(err.get("input"), str | int | float) and not _SECRETISH.search(str(last)):
                msg += f", got {err['input']!r}"
        problems.append(ConfigProblem(_show(path), msg, _line(lines, path)))
    return problems


def _reword(msg: str) -> str:
    msg = msg.replace("Input should be", "must be").replace("String should", "must")
    msg = msg.replace("List should", "must").replace("Value error, ", "")
    return unicodedata.normalize("NFC", msg[:1].lower() + msg[1:])
