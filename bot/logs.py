"""Logging: one readable line per event, timestamps in the site's timezone."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from zoneinfo import ZoneInfo


class _SiteTimeFormatter(logging.Formatter):
    def __init__(self, fmt: str, tz: ZoneInfo) -> None:
        super().__init__(fmt)
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, self.tz).strftime("%Y-%m-%d %H:%M:%S%z")


def setup_logging(level: str, tz: ZoneInfo | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_SiteTimeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                            tz or ZoneInfo("UTC")))
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_bot_handler", False):
            root.removeHandler(h)
    handler._bot_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries speak only when something is wrong (and their debug lines carry request headers).
    for noisy in ("apscheduler", "urllib3", "requests", "requests_oauthlib", "oauthlib", "tweepy"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
