"""The ``alerts:`` section: where operators are told that something needs them (a held account, a failing
feed, posts in doubt, a token about to expire), on a Telegram chat, by email, or on a webhook."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Union

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.functional_validators import AfterValidator

from bot.config.values import (
    UNSET_SECRET,
    BaseURL,
    Identifier,
    PositiveDuration,
    Secret,
    TelegramChat,
    _at_least,
    _at_most,
    _http_url,
    _Model,
)

LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _address(v: str) -> str:
    if not re.fullmatch(r"[^@\s<>,]+@[^@\s<>,]+", v):
        raise ValueError(f"must be an email address such as desk@example.com, got {v!r}")
    return v


class _ChannelBase(_Model):
    """What every alert channel has: its id (default: its type) and how long one try may take."""

    id: Identifier | None = None
    #: each try's bound (each step of an SMTP session); short, so a stop is never held up for long
    timeout: Annotated[PositiveDuration, AfterValidator(_at_most(timedelta(seconds=30), "30s"))] = \
        timedelta(seconds=5)

    @property
    def name(self) -> str:
        return self.id or str(getattr(self, "type"))  # noqa: B009 - every subclass has one


class TelegramChannel(_ChannelBase):
    """A Telegram chat (a person, a group, a channel) that a bot writes to; the bot may be the posting one."""

    type: Literal["telegram"]
    bot_token: Secret
    chat_id: TelegramChat
    base_url: BaseURL = None


class EmailChannel(_ChannelBase):
    """Email through an SMTP server (STARTTLS on 587 by default; ``security: ssl`` for 465)."""

    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: Secret | None = None
    sender: Annotated[str, AfterValidator(_address)]
    to: list[Annotated[str, AfterValidator(_address)]] = Field(min_length=1)

    @model_validator(mode="after")
    def _login(self) -> EmailChannel:
        if bool(self.username) != bool(self.password):
            raise ValueError("username and password go together (a login needs both; a relay neither)")
        if self.password and self.security == "none" and self.host not in LOOPBACK:
            raise ValueError(f"security: none would send the password to {self.host} unencrypted: use starttls or "
                             "ssl (none is for a relay on this machine)")
        return self


class WebhookChannel(_ChannelBase):
    """An HTTP POST of JSON: the bot's own shape (``json``), or what Slack or Discord incoming webhooks take.
    The address is a secret (a Slack or Discord webhook URL holds its token)."""

    type: Literal["webhook"]
    url: Secret
    format: Literal["json", "slack", "discord"] = "json"

    @field_validator("url")
    @classmethod
    def _url(cls, v: SecretStr) -> SecretStr:
        if v.get_secret_value() == UNSET_SECRET:  # a command that sends nothing, without the secret set
            return v
        try:
            _http_url(v.get_secret_value())
        except ValueError:
            raise ValueError("must be an http:// or https:// address") from None  # without the secret
        return v


AlertChannel = Annotated[Union[TelegramChannel, EmailChannel, WebhookChannel],  # noqa: UP007
                         Field(discriminator="type")]


class AlertsConfig(_Model):
    """Who is told, and when: a problem is told once when it begins and once when it ends."""

    channels: list[AlertChannel] = Field(min_length=1)
    #: how long before an account's token expires its operators are told
    token_warning: PositiveDuration = timedelta(days=7)
    #: how long a message a channel could not take is tried again before it is given up (and logged)
    give_up_after: PositiveDuration = timedelta(days=1)
    #: how often the daemon looks for problems (each look is a few small queries)
    interval: Annotated[PositiveDuration, AfterValidator(_at_least(timedelta(seconds=5), "5s"))] = \
        timedelta(seconds=30)
