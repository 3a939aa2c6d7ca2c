"""Logging: one line per event, readable (default) or JSON (``--log-format json``); timestamps in the site's
timezone; and every configured secret replaced by ``***`` before a line is written, whatever logged it."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

#: Libraries that speak only when something is wrong (their debug lines carry request headers).
QUIET = ("apscheduler", "urllib3", "requests", "requests_oauthlib", "oauthlib", "tweepy", "httpx", "httpcore",
         "mastodon")


class _SiteTimeFormatter(logging.Formatter):
    """Readable log lines, timestamped in the site's timezone."""

    def __init__(self, fmt: str, tz: ZoneInfo) -> None:
        super().__init__(fmt)
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, self.tz).strftime("%Y-%m-%d %H:%M:%S%z")


class _JsonFormatter(logging.Formatter):
    """One JSON object per log line, with the line's fields (feed, account, status …) as keys."""

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__()
        self.tz = tz

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        event: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, self.tz).isoformat(timespec="seconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": message}
        for part in message.split():  # key=value pairs become fields too (feed=, account=, status=)
            key, sep, value = part.partition("=")
            if sep and key.isidentifier() and key not in event:
                event[key] = int(value) if value.isascii() and value.isdigit() else value  # numbers stay numbers
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


class Redactor(logging.Filter):
    """Replaces each secret in a record's final text with ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Redact these too (a reload's new or rotated secrets; the old ones stay redacted)."""
        self.secrets = sorted({*self.secrets, *(s for s in secrets if len(s) >= 4)}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        text = message
        for secret in self.secrets:
            text = text.replace(secret, "***")
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        exc_text = record.exc_text
        if exc_text:
            for secret in self.secrets:
                exc_text = exc_text.replace(secret, "***")
            record.exc_text = exc_text
        if text != message:
            record.msg, record.args = text, None
        return True


def setup_logging(level: str, tz: ZoneInfo | None = None, fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    zone = tz or ZoneInfo("UTC")
    handler.setFormatter(_JsonFormatter(zone) if fmt == "json" else
                         _SiteTimeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", zone))
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_bot_handler", False):
            root.removeHandler(h)
    handler._bot_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def redact_also(secrets: Iterable[str]) -> None:
    """Add secrets to the redaction of the bot's log handler (after a reload); nothing when it has none."""
    for h in logging.getLogger().handlers:
        if getattr(h, "_bot_handler", False):
            for f in h.filters:
                if isinstance(f, Redactor):
                    f.add(secrets)
