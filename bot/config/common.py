"""Config models that both the site and the accounts use: short links, hashtags, UTM tags, filters, limits,
approvals."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic.functional_validators import BeforeValidator

from bot.config.values import Duration, _http_url, _Model


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


class HashtagConfig(_Model):
    """Hashtags from the article's categories and/or tags."""

    source: Literal["categories", "tags", "both"] = "both"
    max: int = Field(default=3, ge=0, le=30)
    exclude: list[str] = Field(default_factory=list)
    map: dict[str, str] = Field(default_factory=dict)
    always: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


class UtmConfig(_Model):
    """UTM tags added to the article link in a post (utm_source, utm_medium, utm_campaign)."""

    source: str | None = None
    medium: str | None = None
    campaign: str | None = None


class NameFilter(_Model):
    """Categories or tags an article must have one of (include) or none of (exclude)."""

    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class Limits(_Model):
    """How many posts an account makes at most a day and an hour, and how far apart."""

    per_day: int | None = Field(default=None, ge=1)
    per_hour: int | None = Field(default=None, ge=1)
    min_interval: Duration | None = None


def _approval_shorthand(value: object) -> object:
    """``approval:`` as written: absent or ``none`` (nothing waits), ``all``, or a mapping of categories and tags."""
    if value is None or value == "none":
        return {}
    if value == "all":
        return {"all": True}
    if isinstance(value, dict):
        if set(value) <= {"all", "categories", "tags"} and not any(value.values()):
            raise ValueError("give categories: [...] and/or tags: [...] (or approval: all, or none)")
        return value
    raise ValueError(f"expected none, all, or {{categories: [...], tags: [...]}}, got {value!r}")


class ApprovalConfig(_Model):
    """Which of an account's feed posts wait for a person to approve them (``bot approve``): all of them, or those
    whose article has one of these categories or tags (a WordPress feed gives both as labels). A post made by
    hand never waits: an editor made it."""

    all: bool = False
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)

    @property
    def enabled(self) -> bool:
        """Whether any post of the account can wait for approval."""
        return self.all or bool(self.categories or self.tags)


Approval = Annotated[ApprovalConfig, BeforeValidator(_approval_shorthand)]
