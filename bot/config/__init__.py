"""The config file: one YAML file describes one site, its feeds and its accounts.

Loading goes: read YAML (keeping each key's line) → fill ``${VAR}`` / ``${VAR:-default}`` from the
environment (then an optional ``.env`` beside the file) → validate with typed models → resolve paths.
Every mistake becomes a :class:`~bot.errors.ConfigError` naming the file, the key path, the line and
what is allowed. Relative paths in the file (``file:`` feeds, output files) are relative to the file's
own folder, and so are ``data_dir`` and a relative SQLite ``database``: every command finds the same state.

The package, one module per concern (each imports only those before it):

- :mod:`bot.config.values`: value types (durations, sizes, identifiers, URLs, templates, secrets), small
  validators and the models' base
- :mod:`bot.config.database`: database URL helpers
- :mod:`bot.config.common`: short links, hashtags, UTM tags, filters and limits
- :mod:`bot.config.accounts`: one account model per platform, and their union :data:`AccountConfig`
- :mod:`bot.config.models`: the site, feeds, server and the whole :class:`BotConfig`
- :mod:`bot.config.explain`: pydantic's errors as :class:`~bot.errors.ConfigProblem` with line and key path
- :mod:`bot.config.load`: finding, reading, interpolating and loading a file

The names the rest of the bot uses are re-exported here.
"""

from __future__ import annotations

from bot.config.accounts import (
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
    XCredentials,
)
from bot.config.common import HashtagConfig, Limits, NameFilter, ShortLinkConfig, UtmConfig
from bot.config.load import config_path, interpolate, load_config, parse_config
from bot.config.models import BotConfig, FeedConfig, ServerConfig, SiteConfig
from bot.config.values import parse_duration, parse_size

__all__ = [
    "AccountConfig",
    "BlueskyAccount",
    "BotConfig",
    "ConsoleAccount",
    "DiscordAccount",
    "FacebookAccount",
    "FeedConfig",
    "HashtagConfig",
    "InstagramAccount",
    "Limits",
    "MastodonAccount",
    "NameFilter",
    "ServerConfig",
    "ShortLinkConfig",
    "SiteConfig",
    "TelegramAccount",
    "ThreadsAccount",
    "UtmConfig",
    "XAccount",
    "XCredentials",
    "config_path",
    "interpolate",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_size",
]
