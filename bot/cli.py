"""The command line: parse arguments, build a Bot, call one function, turn errors into messages.

Person-made mistakes (bad config, bad arguments) print one clear message and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from bot import __version__
from bot.clock import Clock
from bot.errors import BotError, ConfigError, UsageError

log = logging.getLogger("bot")

EXIT_OK, EXIT_TROUBLE, EXIT_USAGE = 0, 1, 2


def _common(p: argparse.ArgumentParser, defaults: bool) -> None:
    d = None if defaults else argparse.SUPPRESS
    p.add_argument("-c", "--config", metavar="PATH", default=d,
                   help="config file (default: $BOT_CONFIG, else config/bot.yaml)")
    p.add_argument("-v", "--verbose", action="count", default=0 if defaults else argparse.SUPPRESS,
                   help="more log output (debug)")
    p.add_argument("-q", "--quiet", action="store_true", default=False if defaults else argparse.SUPPRESS,
                   help="log only warnings and errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot",
        description="Posts a WordPress news site's new articles to its social accounts.",
    )
    parser.add_argument("--version", action="version", version=f"bot {__version__}")
    _common(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", help="run the daemon: poll every feed at its interval and post what is new")
    _common(p, defaults=False)

    p = sub.add_parser("poll", help="poll every feed once, send what is due, and exit (for cron and tests)")
    _common(p, defaults=False)
    p.add_argument("--force", action="store_true",
                   help="poll feeds that are backing off after errors too")

    p = sub.add_parser("preview", help="show the post each account would get for the newest articles "
                                         "(reads the feeds now; changes nothing)")
    _common(p, defaults=False)
    p.add_argument("--feed", action="append", default=[], metavar="ID", help="only this feed (repeatable)")
    p.add_argument("--account", action="append", default=[], metavar="ID",
                   help="only this account (repeatable; a disabled account too)")
    p.add_argument("--limit", type=int, default=5, metavar="N", help="articles per feed (default 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")

    p = sub.add_parser("check", help="check each account's credentials: who it is, whether it can post")
    _common(p, defaults=False)

    p = sub.add_parser("release", help="release a held account: its waiting posts go out in order")
    _common(p, defaults=False)
    p.add_argument("account", help="the account's id in the config")
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None, stream: TextIO | None = None) -> int:
    """Entry point of ``bot`` and ``python -m bot``. ``clock`` and ``stream`` are for tests."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message
        return int(exc.code or 0)
    _utf8_stdio()
    try:
        return COMMANDS[args.command](args, clock, stream)
    except ConfigError as exc:
        print(f"bot: {exc.render()}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BotError as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return EXIT_TROUBLE
    except KeyboardInterrupt:
        return 130


def _utf8_stdio() -> None:
    for s in (sys.stdout, sys.stderr):
        reconfigure = getattr(s, "reconfigure", None)
        if reconfigure and (getattr(s, "encoding", "") or "").lower().replace("-", "") != "utf8":
            reconfigure(encoding="utf-8", errors="replace")


def _open(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None):  # type: ignore[no-untyped-def]
    from bot.config import config_path, load_config
    from bot.core import Bot
    from bot.logs import setup_logging

    config = load_config(config_path(args.config))
    level = "debug" if args.verbose else "warning" if args.quiet else config.log_level
    setup_logging(level, config.site.tz)
    return Bot.open(config, clock=clock, stream=stream)


def cmd_run(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    from bot.daemon import Daemon

    bot = _open(args, clock, stream)
    return Daemon(bot).run()


def cmd_poll(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    bot = _open(args, clock, stream)
    try:
        results = bot.poll_all(force=args.force)
        outcomes = bot.dispatch()
    finally:
        bot.close()
    troubled = [r for r in results if r.status in ("error", "backoff")]
    failed = [o for o in outcomes if o.status in ("failed", "in_doubt")]
    return EXIT_TROUBLE if troubled or failed else EXIT_OK


def cmd_preview(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    import json
    from dataclasses import asdict

    bot = _open(args, clock, stream)
    out = stream or sys.stdout
    try:
        for name, ids in (("feed", {f.id for f in bot.config.feeds}), ("account", {a.id for a in bot.config.accounts})):
            unknown = [x for x in getattr(args, name) if x not in ids]
            if unknown:
                raise UsageError(f"no {name} {unknown[0]!r} in the config; {name}s: {', '.join(sorted(ids)) or 'none'}")
        if args.limit < 1:
            raise UsageError("--limit must be at least 1")
        previews, errors = bot.preview(args.feed, args.account, args.limit)
    finally:
        bot.close()
    for p in previews:
        if args.json:
            record = asdict(p)
            if record["error"] is None:
                del record["error"]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            verdict = f"{p.length}/{p.limit}" if p.limit else f"{p.length}"
            verdict += " fits" if p.fits else " DOES NOT FIT"
            out.write(f"── {p.feed} → {p.account} ({p.platform}) · {verdict} · {p.guid}\n")
            out.write((p.text or f"(no post: {p.error})") + "\n\n")
    for e in errors:
        print(f"bot: {e}", file=sys.stderr)
    return EXIT_TROUBLE if errors else EXIT_OK


def cmd_check(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    from bot.errors import PlatformError

    bot = _open(args, clock, stream)
    out = stream or sys.stdout
    failed = 0
    try:
        for account in bot.config.accounts:
            if not account.enabled:
                out.write(f"{account.id} ({account.platform}): disabled\n")
                continue
            try:
                who = bot.publisher_for(account).check()
            except PlatformError as exc:
                failed += 1
                out.write(f"{account.id} ({account.platform}): FAILED: {exc.message}\n")
            else:
                out.write(f"{account.id} ({account.platform}): ok, {who}\n")
    finally:
        bot.close()
    return EXIT_TROUBLE if failed else EXIT_OK


def cmd_release(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    bot = _open(args, clock, stream)
    try:
        if args.account not in {a.id for a in bot.config.accounts}:
            known = ", ".join(a.id for a in bot.config.accounts) or "none"
            raise UsageError(f"no account {args.account!r} in the config; accounts: {known}")
        was_held = bot.store.release_account(args.account, bot.clock.now())
    finally:
        bot.close()
    print(f"{args.account}: released" if was_held else f"{args.account}: was not held")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Clock | None, TextIO | None], int]] = {
    "run": cmd_run,
    "poll": cmd_poll,
    "check": cmd_check,
    "preview": cmd_preview,
    "release": cmd_release,
}
