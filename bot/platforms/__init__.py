"""One module per platform behind one small interface (:mod:`bot.platforms.base`).

:mod:`bot.platforms.http` holds the HTTP plumbing of the publishers that call their API with ``requests``
(Telegram, Facebook, Discord, Instagram, Threads), and :mod:`bot.platforms.meta` what Meta's Graph-style APIs
share (their errors, long-lived tokens refreshed and kept in the store); each platform module maps its own
platform's answers onto the outcome kinds.

Platform modules are imported only when an account uses them, so the bot starts fast and small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from bot.clock import Clock
from bot.config import (
    AccountConfig,
    BlueskyAccount,
    ConsoleAccount,
    DiscordAccount,
    FacebookAccount,
    InstagramAccount,
    MastodonAccount,
    TelegramAccount,
    ThreadsAccount,
    XAccount,
)
from bot.platforms.base import Post, Published, Publisher, TokenExpiry

if TYPE_CHECKING:
    from bot.pictures import Pictures
    from bot.platforms.meta import TokenStore


def make_publisher(account: AccountConfig, *, stream: TextIO | None = None, clock: Clock | None = None,
                   user_agent: str = "wp-social-bot", pictures: Pictures | None = None,
                   tokens: TokenStore | None = None) -> Publisher:
    """The publisher of ``account``; ``pictures`` draws its cards and hosts its images (default: the config's
    ``cards:`` defaults, no public address); ``tokens`` keeps the tokens a platform refreshes (the store; none:
    the config's token is used as it is, and never refreshed)."""
    if pictures is None:
        from bot.config.cards import CardsConfig
        from bot.pictures import Pictures

        pictures = Pictures(CardsConfig())
    if isinstance(account, ConsoleAccount):
        from bot.platforms.console import ConsolePublisher

        return ConsolePublisher(account, stream=stream, pictures=pictures)
    if isinstance(account, XAccount):
        from bot.platforms.x import XPublisher

        return XPublisher(account, clock=clock, user_agent=user_agent, pictures=pictures)
    if isinstance(account, TelegramAccount):
        from bot.platforms.telegram import TelegramPublisher

        return TelegramPublisher(account, clock=clock, user_agent=user_agent, pictures=pictures)
    if isinstance(account, FacebookAccount):
        from bot.platforms.facebook import FacebookPublisher

        return FacebookPublisher(account, clock=clock, user_agent=user_agent, pictures=pictures)
    if isinstance(account, MastodonAccount):
        from bot.platforms.mastodon import MastodonPublisher

        return MastodonPublisher(account, clock=clock, user_agent=user_agent, pictures=pictures)
    if isinstance(account, BlueskyAccount):
        from bot.platforms.bluesky import BlueskyPublisher

        return BlueskyPublisher(account, clock=clock, user_agent=user_agent, pictures=pictures)
    if isinstance(account, DiscordAccount):
        from bot.platforms.discord import DiscordPublisher

        return DiscordPublisher(account, clock=clock, user_agent=user_agent, pictures=pictures)
    if isinstance(account, InstagramAccount):
        from bot.platforms.instagram import InstagramPublisher

        return InstagramPublisher(account, clock=clock, user_agent=user_agent, pictures=pictures)
    if isinstance(account, ThreadsAccount):
        from bot.platforms.threads import ThreadsPublisher

        return ThreadsPublisher(account, clock=clock, user_agent=user_agent, pictures=pictures, tokens=tokens)
    raise ValueError(f"no publisher for platform {account.platform!r}")  # pragma: no cover - config forbids it


__all__ = ["Post", "Published", "Publisher", "TokenExpiry", "make_publisher"]
