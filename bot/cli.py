"""The command line: parse arguments, build a Bot, call one function, turn errors into messages.

Person-made mistakes (bad config, bad arguments) print one clear message and exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from bot import __version__, cli_cards, cli_console
from bot.clock import Clock
from bot.errors import BotError, ConfigError, UsageError

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from bot.config import BotConfig
    from bot.core import Bot
    from bot.operations import Operations

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
    p.add_argument("--log-format", choices=("text", "json"), default="text" if defaults else argparse.SUPPRESS,
                   help="readable lines (default) or one JSON object per line")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot",
        description="Posts a WordPress news site's new articles to its social accounts.",
    )
    parser.add_argument("--version", action="version", version=f"bot {__version__}")
    _common(parser, defaults=True)
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def sub_parser(name: str, text: str) -> argparse.ArgumentParser:
        # The same words head the command's own --help (argparse shows help= only in the list of commands).
        return subs.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")

    p = sub_parser("run", "run the daemon: poll every feed at its interval and post what is new")
    _common(p, defaults=False)
    p.add_argument("--allow-sqlite-on-heroku", action="store_true",
                   help="run on Heroku with SQLite anyway (its disk is wiped on every restart)")

    p = sub_parser("migrate", "bring the database's schema up to this version of the bot "
                              "(back it up first); creates it when empty")
    _common(p, defaults=False)

    p = sub_parser("poll", "poll every feed once, send what is due, and exit (for cron and tests)")
    _common(p, defaults=False)
    p.add_argument("--force", action="store_true",
                   help="poll feeds that are backing off after errors too")

    p = sub_parser("preview", "show the post each account would get for the newest articles "
                              "(reads the feeds now; changes nothing)")
    _common(p, defaults=False)
    p.add_argument("--feed", action="append", default=[], metavar="ID", help="only this feed (repeatable)")
    p.add_argument("--account", action="append", default=[], metavar="ID",
                   help="only this account (repeatable; a disabled account too)")
    p.add_argument("--limit", type=int, default=5, metavar="N", help="articles per feed (default 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")

    p = sub_parser("post", "post by hand: a text, or an article by its URL (recorded like feed posts)")
    _common(p, defaults=False)
    p.add_argument("text", nargs="?", help="the text to post (composed and fitted per account)")
    p.add_argument("--url", metavar="ARTICLE_URL", help="post this article: its page gives headline, link, image")
    p.add_argument("--account", action="append", default=[], metavar="ID", help="only this account (repeatable)")
    p.add_argument("--link", metavar="URL", help="the link of a text post")
    p.add_argument("--image", metavar="PATH|URL", help="an image to attach")
    p.add_argument("--dry-run", action="store_true", help="show each account's text and length; send nothing")
    p.add_argument("--force", action="store_true", help="send even if the account is held or over its limits")
    p.add_argument("--at", metavar="TIME", help="schedule it instead of sending it now: a time such as "
                                                "'2026-12-02 09:00', in the site's timezone")
    _by(p)

    p = sub_parser("check", "check each account's credentials: who it is, whether it can post")
    _common(p, defaults=False)
    p.add_argument("--account", action="append", default=[], metavar="ID", help="only this account (repeatable)")

    p = sub_parser("config", "check the config file offline (like nginx -t): nothing is contacted")
    _common(p, defaults=False)
    p.add_argument("action", choices=("check",), help="check: load and validate the config, say what it holds")

    for name, text in (("release", "release a held account: its waiting posts go out in order"),
                       ("hold", "hold an account: its posts wait until it is released")):
        p = sub_parser(name, text)
        _common(p, defaults=False)
        p.add_argument("account", help="the account's id in the config")
        p.add_argument("--reason", metavar="TEXT", help="why (kept with the account; bot status shows it)")
        _by(p)

    p = sub_parser("status", "feeds, accounts, the queue and why each post waits, recent posts, problems")
    _common(p, defaults=False)
    p.add_argument("--limit", type=int, default=10, metavar="N", help="recent posts and problems shown (10)")
    p.add_argument("--json", action="store_true", help="one JSON object")

    for name, text in (("retry", "send a failed, skipped or in-doubt delivery again"),
                       ("skip", "skip a waiting, failed or in-doubt delivery"),
                       ("unpost", "delete a post the bot made, on its platform"),
                       ("withdraw", "delete every post of this delivery's article, on every platform (a withdrawn "
                                    "article)"),
                       ("approve", "approve a post that awaits approval (as it is, or with your text): it goes now"),
                       ("reject", "reject a post that awaits approval: it is never sent"),
                       ("edit", "put your own text on a waiting post (queued or awaiting approval): sent as it is")):
        p = sub_parser(name, text)
        _common(p, defaults=False)
        p.add_argument("delivery", type=int, metavar="ID", help="the delivery's number (bot status shows it)")
        if name == "edit":
            p.add_argument("text", help="the whole post as it should go, link included")
        elif name in ("approve", "reject"):
            p.add_argument("--text" if name == "approve" else "--reason", metavar="TEXT",
                           help="post this text instead (it must fit the platform)" if name == "approve"
                           else "why (kept with the post; bot status shows it)")
        _by(p)
    cli_console.add_parsers(sub_parser, _common)
    cli_cards.add_parsers(sub_parser, _common)
    return parser


def _by(p: argparse.ArgumentParser) -> None:
    import getpass

    try:
        default = getpass.getuser()
    except (KeyError, OSError):
        default = "operator"
    p.add_argument("--by", default=default, metavar="NAME", help=f"who does this (default {default})")


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


def _load(args: argparse.Namespace, *, secrets: bool = True) -> BotConfig:
    """The config the arguments name, with logging set up for it. ``secrets=False``: a command that never
    reaches a platform, which runs without the accounts' secrets set."""
    from bot.config import config_path, load_config
    from bot.config.load import database_not_moved
    from bot.logs import setup_logging

    path = config_path(args.config)
    config = load_config(path, secrets=secrets)
    level = "debug" if args.verbose else "warning" if args.quiet else config.log_level
    setup_logging(level, config.site.tz, args.log_format, config.secrets())
    database_not_moved(config, path)
    return config


def _open(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None, *, secrets: bool = True,
          **how: bool) -> Bot:
    from bot.core import Bot

    return Bot.open(_load(args, secrets=secrets), clock=clock, stream=stream, **how)


def _operations(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None, *, secrets: bool = True,
                **how: bool) -> Operations:
    from bot.operations import Operations

    return Operations(_open(args, clock, stream, secrets=secrets, **how))


def cmd_run(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    import os

    from bot.config import config_path
    from bot.config.database import database_url
    from bot.core import Bot
    from bot.daemon import Daemon

    config = _load(args)
    if os.environ.get("DYNO") and database_url(config.database, config.data_dir).startswith("sqlite") \
            and not args.allow_sqlite_on_heroku:
        raise UsageError("this is Heroku, where a dyno's disk is wiped on every restart and each dyno has its "
                         "own: SQLite would forget what was posted and post it again. Use PostgreSQL "
                         "(database: or $DATABASE_URL), or --allow-sqlite-on-heroku to run anyway")
    bot = Bot.open(config, clock=clock, stream=stream)
    return Daemon(bot, config_path(args.config)).run()


def cmd_migrate(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    from bot.config import config_path, load_config
    from bot.operations import migrate

    found, now = migrate(load_config(config_path(args.config), secrets=False))
    if found == now:
        print(f"the database is at revision {now}, the newest: nothing to do")
    elif found is None:
        print(f"the database was empty: created at revision {now}")
    else:
        print(f"migrated the database from revision {found} to {now}")
    return EXIT_OK


def cmd_poll(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    bot = _open(args, clock, stream)
    try:
        results = bot.poll_all(force=args.force)
        outcomes = bot.dispatch()
        bot.prune()
        alerted = _alert(bot)  # what began or ended is told (alerts:), as the daemon would
    finally:
        bot.close()
    troubled = [r for r in results if r.status in ("error", "backoff")]
    failed = [o for o in outcomes if o.status in ("failed", "in_doubt")]
    for r in troubled:  # the exit status says something failed: say what
        when = f"; next try {r.next_try.astimezone(bot.config.site.tz):%Y-%m-%d %H:%M:%S%z}" if r.next_try else ""
        if r.status == "backoff":
            print(f"bot: feed {r.feed_id}: not polled, backing off after failures ({r.error}){when}; "
                  "--force polls it now", file=sys.stderr)
        else:
            print(f"bot: feed {r.feed_id}: {r.error}{when}", file=sys.stderr)
    for o in failed:
        print(f"bot: delivery {o.delivery_id} ({o.account_id}): {o.status}: {o.detail}", file=sys.stderr)
    return EXIT_TROUBLE if troubled or failed or not alerted else EXIT_OK


def _alert(bot: Bot) -> bool:
    """Run the alerts once; False (said) when they could not run (a channel's failure is not that: it is
    retried later)."""
    try:
        bot.alert()
    except Exception as exc:
        log.exception("alerts: the look for problems failed")
        print(f"bot: alerts: {exc}", file=sys.stderr)
        return False
    return True


def _cost(usd: float | None) -> str:
    """What a post would cost (X), as ``preview`` and ``post --dry-run`` show it: `` · $0.200``."""
    return f" · ${usd:.3f}" if usd is not None else ""


def cmd_preview(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    import json
    from dataclasses import asdict

    ops = _operations(args, clock, stream, secrets=False, create=False, scratch=True)
    out = stream or sys.stdout
    try:
        previews, errors = ops.preview(args.feed, args.account, args.limit)
    finally:
        ops.bot.close()
    for p in previews:
        if args.json:
            record = asdict(p)
            if record["error"] is None:
                del record["error"]
            for optional in ("cost_usd", "picture"):
                if record[optional] is None:
                    del record[optional]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            verdict = f"{p.length}/{p.limit}" if p.limit else f"{p.length}"
            verdict += " fits" if p.fits else " DOES NOT FIT"
            verdict += _cost(p.cost_usd)
            out.write(f"── {p.feed} → {p.account} ({p.platform}) · {verdict} · {p.guid}\n")
            out.write((p.text or f"(no post: {p.error})") + "\n" + (f"{p.picture}\n" if p.picture else "") + "\n")
    for e in errors:
        print(f"bot: {e}", file=sys.stderr)
    return EXIT_TROUBLE if errors else EXIT_OK


def cmd_check(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    ops = _operations(args, clock, stream, create=False, scratch=True)
    out = stream or sys.stdout
    failed = 0
    try:
        for r in ops.check(args.account):  # each line as soon as its platform answers
            said = {"ok": f"ok, {r.detail}", "failed": f"FAILED: {r.detail}"}.get(r.status, r.status)
            out.write(f"{r.account} ({r.platform}): {said}\n")
            failed += r.status == "failed"
    finally:
        ops.bot.close()
    return EXIT_TROUBLE if failed else EXIT_OK


def cmd_config(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    """``bot config check``: the config loads and is valid (a ConfigError says what is not, exit 2)."""
    config = _load(args)
    out = stream or sys.stdout
    feeds = ", ".join(f.id for f in config.feeds)
    on = [a for a in config.accounts if a.enabled]
    accounts = ", ".join(f"{a.id} ({a.platform})" for a in on)
    off = [a.id for a in config.accounts if not a.enabled]
    out.write(f"config ok: site {config.site.name}, {len(config.feeds)} feed(s) ({feeds}), "
              f"{len(on)} account(s) ({accounts})" + (f"; not enabled: {', '.join(off)}" if off else "")
              + (f"; alerts on {', '.join(c.name for c in config.alerts.channels)}" if config.alerts else "") + "\n")
    return EXIT_OK


def _time(text: str) -> datetime:
    """``--at``'s time as written (ISO 8601; without an offset, the site's timezone is put on it later)."""
    from datetime import datetime

    with contextlib.suppress(ValueError):
        if len(text.strip()) > 10:  # a date alone is no time
            return datetime.fromisoformat(text.strip())
    raise UsageError(f"--at {text!r}: expected a time such as 2026-12-02 09:00 (the site's timezone)")


def _wall(at: datetime, tz: tzinfo) -> datetime:
    from bot.clock import wall_time

    try:
        return wall_time(at, tz)
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from None


def cmd_post(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    from bot.operations import check_manual_post

    check_manual_post(args.text, args.url)
    at = None if args.at is None else _time(args.at)  # before anything opens
    image = args.image
    if image and "://" not in image:
        from pathlib import Path

        if not Path(image).is_file():
            raise UsageError(f"--image {image}: no such file")
        image = Path(image).resolve().as_uri()
    ops = _operations(args, clock, stream)
    try:
        results = ops.manual_post(text=args.text, url=args.url, account_ids=args.account, link=args.link,
                                  image=image, dry_run=args.dry_run, force=args.force, by=args.by,
                                  at=at and (at if at.tzinfo else _wall(at, ops.bot.config.site.tz)))
    finally:
        ops.bot.close()
    out = stream or sys.stdout
    for r in results:
        if r.status == "dry run":
            limit = f"/{r.limit}" if r.limit else ""
            cut = " · CUT to fit (the text is longer than the platform takes)" if r.cut else ""
            picture = f"card: {r.card}\n" if r.card else f"image: {r.image}\n" if r.image else ""
            out.write(f"── {r.account} · {r.length}{limit}{_cost(r.cost_usd)}{cut}\n{r.detail}\n{picture}\n")
            continue
        out.write(f"{r.account}: {r.status}{': ' + r.detail if r.detail else ''}\n")
        if r.cut:
            print(f"bot: {r.account}: the text was cut at a word to fit the platform (--dry-run shows it)",
                  file=sys.stderr)
        if r.status in ("retry", "rate_limited", "held", "waiting"):
            print(f"bot: {r.account}: not posted yet; it waits in the queue, and the daemon (bot run) or the next "
                  "bot poll sends it", file=sys.stderr)
    gone = ("sent", "duplicate", "dry run", "already posted", "scheduled")
    return EXIT_OK if all(r.status in gone for r in results) else EXIT_TROUBLE


def cmd_status(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
    import json

    from bot.operations import report

    ops = _operations(args, clock, stream, secrets=False, create=False)
    try:
        data = ops.status(limit=args.limit)
    finally:
        ops.bot.close()
    out = stream or sys.stdout
    out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n" if args.json else report.render(data))
    return EXIT_OK


def _operate(action: str) -> Callable[[argparse.Namespace, Clock | None, TextIO | None], int]:
    def run(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
        # They act on state that must already be there; hold, release, skip, reject and edit on nothing beyond the
        # database (retry and approve send what is due at once, unpost deletes on the platform: they need the
        # secrets).
        ops = _operations(args, clock, stream, create=False,
                          secrets=action not in ("hold", "release", "skip", "reject", "edit"))
        try:
            if action == "hold":
                done = ops.hold(args.account, args.by, args.reason)
                message = f"{args.account}: held" if done else f"{args.account}: was held"
            elif action == "release":
                done = ops.release(args.account, args.by, args.reason)
                message = f"{args.account}: released" if done else f"{args.account}: was not held"
            else:
                acts: dict[str, Callable[..., str]] = {"retry": ops.retry, "skip": ops.skip, "unpost": ops.unpost,
                                                       "approve": ops.approve, "reject": ops.reject,
                                                       "edit": ops.edit_text, "withdraw": ops.withdraw}
                more = {k: getattr(args, k) for k in ("text", "reason") if k in args}  # approve, edit; reject
                message = acts[action](args.delivery, by=args.by, **more)
        finally:
            ops.bot.close()
        (stream or sys.stdout).write(message + "\n")
        return EXIT_OK
    return run


COMMANDS: dict[str, Callable[[argparse.Namespace, Clock | None, TextIO | None], int]] = {
    "run": cmd_run,
    "poll": cmd_poll,
    "migrate": cmd_migrate,
    "check": cmd_check,
    "config": cmd_config,
    "preview": cmd_preview,
    "status": cmd_status,
    "post": cmd_post,
    **{name: _operate(name) for name in ("release", "hold", "retry", "skip", "unpost", "withdraw", "approve", "reject",
                                         "edit")},
}

COMMANDS.update(cli_console.commands(_operations) | cli_cards.commands(_operations))  # user, console, card
