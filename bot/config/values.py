"""The config's value types and small validators: durations, sizes, identifiers, URLs, templates, secrets.

Also the base of every config model (:class:`_Model`) and the error a cross-field check raises to name its
key (:class:`_PathError`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.functional_validators import AfterValidator, BeforeValidator

from bot.compose.template import canonical, template_problems

RTL_LANGUAGES = frozenset({"ar", "fa", "ur", "he", "yi", "ps", "ckb", "sd", "ug", "dv"})

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
IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
DIGITS = r"^\d+$"
HOSTNAME = r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
#: The patterns of fields, in words (a config error says the rule, not the regular expression).
PATTERN_WORDS = {
    IDENTIFIER: "must be 1 to 64 Latin letters, digits, '_', '.' or '-', starting with a letter or digit "
                "(e.g. main, x-news)",
    DIGITS: "must be digits only",
    HOSTNAME: "must be a host name such as news.bsky.social or example.com",
}
Identifier = Annotated[str, Field(pattern=IDENTIFIER)]


def _number_as_text(v: object) -> object:
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


#: A platform's numeric id (a Page's, a Threads user's, a Discord server's): digits, written quoted or not.
NumericId = Annotated[str, BeforeValidator(_number_as_text), Field(pattern=DIGITS)]


def telegram_chat(v: int | str) -> int | str:
    """A Telegram chat: ``@channelname``, or a numeric id (a string of digits becomes a number)."""
    if isinstance(v, int) or (isinstance(v, str) and v.startswith("@") and len(v) > 1):
        return v
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    raise ValueError("must be @channelname or a numeric chat id such as -1001234567890")


#: A Telegram chat: ``@channelname`` or a numeric id (accounts and alert channels alike).
TelegramChat = Annotated[int | str, AfterValidator(telegram_chat)]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// address, got {value!r}")
    return value


class _Model(BaseModel):
    """The base of every config model: unknown keys are mistakes, and a loaded config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _at_least(limit: timedelta, shown: str) -> Callable[[timedelta], timedelta]:
    def check(v: timedelta) -> timedelta:
        if v < limit:
            raise ValueError(f"must be at least {shown}")
        return v
    return check


def _at_most(limit: timedelta, shown: str) -> Callable[[timedelta], timedelta]:
    def check(v: timedelta) -> timedelta:
        if v > limit:
            raise ValueError(f"must be at most {shown}")
        return v
    return check


def _base_url(v: str | None) -> str | None:
    return None if v is None else _http_url(v).rstrip("/")


#: A duration longer than 0s.
PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
#: Another server speaking the same API (tests, compatible services); None: the platform's own.
BaseURL = Annotated[str | None, AfterValidator(_base_url)]


def _checked_template(v: str) -> str:
    problems = template_problems(v)
    if problems:
        raise ValueError("; ".join(problems))
    return canonical(v)


Template = Annotated[str, AfterValidator(_checked_template)]


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


Secret = Annotated[SecretStr, Field(min_length=1)]


def _image_mode(v: object) -> object:
    """``true`` is the article's image (what ``image: true`` always meant), ``false`` none."""
    if v is True:
        return "article"
    if v is False or v is None:
        return "none"
    return v


#: What picture a post carries: none, the article's image, a headline card (``cards:``), or the article's
#: image and a card when the article has none.
ImageMode = Annotated[Literal["none", "article", "card", "article_or_card"], BeforeValidator(_image_mode)]
#: What an account's secret holds when a command that never reaches the platform (``bot status``) ran without
#: it set (``load_config(..., secrets=False)``); nothing sends with it (``BotConfig.unset_secrets``).
UNSET_SECRET = "\x00unset\x00"


class _PathError(ValueError):
    """A cross-field problem that knows which key it is about."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
