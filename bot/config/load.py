"""Loading a config file: find it, read the YAML, fill ``${VAR}`` from the environment and ``.env``, validate,
resolve relative paths."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import pathname2url

import yaml
from pydantic import SecretStr, ValidationError

from bot.config.accounts import ConsoleAccount
from bot.config.explain import _explain, _key_lines, _line, _model_at, _show, duplicate_keys, yaml_words
from bot.config.models import BotConfig
from bot.config.values import UNSET_SECRET, _PathError
from bot.errors import ConfigError, ConfigProblem, UsageError

DEFAULT_CONFIG = "config/bot.yaml"


def config_path(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """``--config PATH``, else ``$BOT_CONFIG``, else ``config/bot.yaml``."""
    env = os.environ if environ is None else environ
    return Path(explicit or env.get("BOT_CONFIG") or DEFAULT_CONFIG)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None, *, secrets: bool = True) -> BotConfig:
    """Read, interpolate, validate and resolve a config file. Raises ConfigError.

    An account that is not enabled may leave its secrets unset. ``secrets=False`` is for commands that never
    reach a platform (``bot status``, ``hold``, ``skip``…): any account's may then be. Such a secret, whose
    variable is unset or empty, holds ``UNSET_SECRET`` (``BotConfig.unset_secrets``), and nothing sends with
    it."""
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
    if env.get("BOT_ENV_FILE"):  # read again at every load (a reload, a release): its values as they are now,
        extra = Path(env["BOT_ENV_FILE"])  # over the process's own environment (systemd read it at start)
        if not extra.is_file():
            raise ConfigError(name, [ConfigProblem("", f"$BOT_ENV_FILE names {extra}, which is not a file")])
        env.update(_read_dotenv(extra, name))
    return parse_config(text, name, env, base_dir=path.parent, secrets=secrets)


def parse_config(text: str, name: str, environ: Mapping[str, str], base_dir: Path, *,
                 secrets: bool = True) -> BotConfig:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(name, [ConfigProblem("", yaml_words(exc), line)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(name, [ConfigProblem("", f"not valid YAML: {exc}")]) from None
    lines = _key_lines(node)
    twice = duplicate_keys(node)
    if twice:
        raise ConfigError(name, [ConfigProblem("", f"the key {key!r} is written twice in the same place (YAML would "
                                                   "keep only the last one): merge them", line)
                                 for key, line in twice])
    if not isinstance(data, dict):
        raise ConfigError(name, [ConfigProblem("", "the file must be a mapping with site, feeds and accounts")])
    problems: list[ConfigProblem] = []
    empty: dict[str, list[str]] = {}  # key path → the variables it was filled from that are set but empty
    raw = data
    # An account that is not enabled may leave its secrets unset (the example config's unused accounts), and
    # so may every account for a command that reaches no platform.
    def stand_in(at: tuple[str | int, ...]) -> bool:
        if at[:2] == ("alerts", "channels") or at[:1] == ("console",):
            return not secrets and _is_secret(at, raw)  # no alert is sent, no session signed, by what reaches none
        return at[:1] == ("accounts",) and _is_secret(at, raw) and (not secrets or not _enabled(at, raw, environ))

    data = _interpolate(data, (), environ, problems, lines, empty, stand_in)
    if problems:
        raise ConfigError(name, problems)
    if data.get("database") is None and environ.get("DATABASE_URL"):
        data["database"] = environ["DATABASE_URL"]  # Heroku and most hosts give the database this way
    try:
        config = BotConfig.model_validate(data)
    except ValidationError as exc:
        explained = [replace(p, message=f"{' and '.join('$' + v for v in empty[p.path])} is set but empty (give it "
                                        "a value, in the environment or in .env beside the config)")
                     if p.path in empty else p for p in _explain(exc, data, lines)]
        raise ConfigError(name, explained) from None
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
    # The state, like file: feeds, lives where the config says relative to the config's own folder: the same
    # database whatever folder a command is run from.
    data_dir = config.data_dir if Path(config.data_dir).is_absolute() else str((base_dir / config.data_dir).resolve())
    database = config.database
    if database and database.startswith("sqlite:///") and not database.startswith("sqlite:////"):
        relative = database[len("sqlite:///"):]
        if relative and not relative.startswith(":memory:"):
            database = "sqlite:///" + str((base_dir / relative).resolve())
    return config.model_copy(update={"feeds": feeds, "accounts": accounts, "data_dir": data_dir,
                                     "database": database})


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


def _enabled(path: tuple[str | int, ...], data: Any, environ: Mapping[str, str]) -> bool:
    """Whether the account at ``path`` (``accounts[i]…``) is enabled, as its ``enabled`` key says."""
    accounts = data.get("accounts") if isinstance(data, dict) else None
    index = path[1] if len(path) > 1 else None
    entry = accounts[index] if isinstance(accounts, list) and isinstance(index, int) and index < len(accounts) \
        else None
    value = entry.get("enabled", True) if isinstance(entry, dict) else True
    if isinstance(value, str):  # as pydantic reads it
        return interpolate(value, environ)[0].strip().lower() not in ("false", "0", "no", "off", "n", "f")
    return bool(value)


def _is_secret(path: tuple[str | int, ...], data: Any) -> bool:
    """Whether the value at ``path`` is a secret (a token, a password: a ``Secret`` field)."""
    if not path or not isinstance(path[-1], str):
        return False
    model = _model_at(path[:-1], data)
    field = model.model_fields.get(path[-1]) if model else None
    return field is not None and field.annotation is SecretStr


def _interpolate(
    data: Any, path: tuple[str | int, ...], env: Mapping[str, str],
    problems: list[ConfigProblem], lines: dict[tuple[str | int, ...], int], empty: dict[str, list[str]],
    stand_in: Callable[[tuple[str | int, ...]], bool] | None = None,
) -> Any:
    if isinstance(data, dict):
        return {k: _interpolate(v, (*path, k), env, problems, lines, empty, stand_in) for k, v in data.items()}
    if isinstance(data, list):
        return [_interpolate(v, (*path, i), env, problems, lines, empty, stand_in) for i, v in enumerate(data)]
    if isinstance(data, str) and "$" in data:
        text, missing = interpolate(data, env)
        blank = [m.group(1) for m in _VAR.finditer(data) if m.group(1) and env.get(m.group(1)) == ""]
        if (missing or (blank and not text)) and stand_in is not None and stand_in(path):
            return UNSET_SECRET  # a command that reaches no platform: the secret may be unset here
        if blank:
            empty[_show(path)] = blank
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
    """KEY=VALUE lines; ``#`` comments, ``export`` prefixes and quotes allowed. The environment wins. A file
    that others on the machine can read is warned about (it holds secrets)."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.stat().st_mode & 0o004:
            logging.getLogger("bot").warning("%s can be read by every user of this machine, and it holds secrets: "
                                             "chmod 600 it (or 640 with the bot's group)", path)
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


def database_not_moved(config: BotConfig, path: Path) -> None:
    """Before, a relative ``data_dir`` was relative to the working directory; now to the config's folder. A
    bot upgraded in place would start on a new, empty database beside the config while its own waits where it
    was: say so (a UsageError) rather than lose the queue."""
    if config.database is not None:
        return
    folder = path.resolve().parent
    new = Path(config.data_dir) / "bot.sqlite3"
    try:
        relative = Path(config.data_dir).relative_to(folder)
    except ValueError:
        return  # an absolute data_dir: as it always was
    old = Path(os.getcwd()) / relative / "bot.sqlite3"
    if old != new and old.exists() and not new.exists():
        raise UsageError(f"the database is now kept beside the config, at {new}, but this bot's database is {old} "
                         f"(relative paths used to be relative to the working directory): move it there, or set "
                         f"data_dir: {old.parent} in {path}")
