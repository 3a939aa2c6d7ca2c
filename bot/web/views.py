"""Pure helpers for the console's pages: an account's or feed's settings as the daemon reads them, with no
secret in them, and where a person checks what an account has posted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, SecretStr

from bot.config import AccountConfig, FeedConfig

HIDDEN = "••••••"


def settings(model: BaseModel, secrets: Sequence[str]) -> list[tuple[str, str]]:
    """A model's settings as (dotted key, value) lines: a secret field shows as :data:`HIDDEN`, and any secret
    value found inside another value (a token in a feed's address) is hidden too."""
    lines: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, SecretStr):
            lines.append((prefix, HIDDEN))
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(f"{prefix}.{name}" if prefix else name, getattr(value, name))
        elif isinstance(value, dict):
            if not value:
                lines.append((prefix, "{}"))
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(value, list | tuple):
            lines.append((prefix, ", ".join(_hide(str(v), secrets) for v in value) or "[]"))
        else:
            lines.append((prefix, _hide("" if value is None else str(value), secrets)))

    walk("", model)
    return lines


def _hide(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, HIDDEN).replace(quote(secret, safe=""), HIDDEN)
    return text


def account_view(account: AccountConfig, secrets: Sequence[str]) -> dict[str, Any]:
    return {"id": account.id, "platform": account.platform, "enabled": account.enabled,
            "profile": profile_url(account), "settings": settings(account, secrets)}


def feed_view(feed: FeedConfig, secrets: Sequence[str]) -> dict[str, Any]:
    return {"id": feed.id, "url": _hide(feed.url, secrets), "settings": settings(feed, secrets)}


def safe_url(url: object) -> str:
    """A URL a page may link to: http(s) only (a platform's answer could hold a ``javascript:`` one); else ""."""
    text = str(url or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else ""


def profile_url(account: AccountConfig) -> str | None:
    """Where a person sees the account's posts (to check whether a post in doubt went out), when the config
    says enough to know."""
    platform = account.platform
    if platform == "telegram":
        chat = str(getattr(account, "chat_id", ""))
        return f"https://t.me/{chat.removeprefix('@')}" if chat.startswith("@") else None
    if platform == "facebook":
        return f"https://www.facebook.com/{getattr(account, 'page_id', '')}"
    if platform == "bluesky":
        return f"https://bsky.app/profile/{getattr(account, 'handle', '')}"
    if platform == "mastodon":
        return str(getattr(account, "instance", "")) or None
    if platform == "discord":
        guild = getattr(account, "guild_id", None)
        return f"https://discord.com/channels/{guild}" if guild else None
    return None
