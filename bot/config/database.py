"""The database URL helpers: the driver's form of a URL, the default SQLite file, a URL shown without its password.

SQLAlchemy is imported only when a URL is shown, so loading a config stays as light as before.
"""

from __future__ import annotations

from pathlib import Path


def database_url(configured: str | None, data_dir: str | Path) -> str:
    """The configured URL, else a SQLite file in the data folder."""
    if configured:
        return normalize_url(configured)
    return f"sqlite:///{Path(data_dir) / 'bot.sqlite3'}"


def shown_url(url: str) -> str:
    """A database URL as messages show it: without its password."""
    from sqlalchemy.engine import make_url

    return url if "@" not in url else make_url(url).render_as_string(hide_password=True)


def normalize_url(url: str) -> str:
    """PostgreSQL URLs as the bot's driver (psycopg 3) needs them: Heroku's ``postgres://`` and the plain
    ``postgresql://`` both become ``postgresql+psycopg://``. Other URLs are returned as they are."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
