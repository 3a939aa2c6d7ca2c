"""The console's commands: ``bot user add|passwd|remove|list`` (the console's people) and ``bot console``
(the console served alone, against the daemon's database, with no scheduler)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from bot.clock import Clock
from bot.errors import UsageError

EXIT_OK = 0

if TYPE_CHECKING:
    from bot.operations import Operations

Command = Callable[[argparse.Namespace, Clock | None, TextIO | None], int]
#: How ``bot.cli`` opens the operations a command acts through (its ``_operations``).
OpenOperations = Callable[..., "Operations"]


def add_parsers(sub_parser: Callable[[str, str], argparse.ArgumentParser],
                common: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    p = sub_parser("user", "manage the console's users: add, passwd, remove, list")
    common(p, False)
    users = p.add_subparsers(dest="user_action", metavar="ACTION", required=True, help="what to do")
    for name, text in (("add", "add a user (the password from a prompt, or standard input when it is not a "
                               "terminal)"),
                       ("passwd", "set a user's password (its sessions end)"),
                       ("remove", "remove a user (its sessions end)"),
                       ("list", "list the users and their roles")):
        u = users.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")
        common(u, False)
        if name != "list":
            u.add_argument("name", help="the user's sign-in name")
        if name == "add":
            u.add_argument("--role", choices=("viewer", "editor", "admin"), required=True,
                           help="viewer reads; editor also edits, approves and posts; admin also holds, releases "
                                "and manages users")
    p = sub_parser("console", "serve the newsroom console alone, against the same database (no polling or "
                              "sending: the daemon sends what editors queue)")
    common(p, False)
    p.add_argument("--host", metavar="ADDRESS", help="listen on this address (default: server.host, else 127.0.0.1)")
    p.add_argument("--port", type=int, metavar="N", help="listen on this port (default: server.port, else 8080)")


def _password(stream: TextIO | None, confirm: bool = True) -> str:
    """The password: asked twice on a terminal, else the first line of standard input."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if confirm and getpass.getpass("again: ") != first:
            raise UsageError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None, _operations: OpenOperations,
             ) -> int:
    ops: Operations = _operations(args, clock, stream, secrets=False, create=args.user_action == "add")
    out = stream or sys.stdout
    try:
        if args.user_action == "list":
            for u in ops.list_users():
                out.write(f"{u.name}\t{u.role}\t{u.source}\n")
            return EXIT_OK
        if args.user_action == "remove":
            message = ops.remove_user(args.name)
        elif args.user_action == "add":
            message = ops.add_user(args.name, args.role, _password(stream))
        else:
            ops._user(args.name)  # before asking for a password: a UsageError when there is no such user
            message = ops.change_user(args.name, password=_password(stream))
    finally:
        ops.bot.close()
    out.write(message + "\n")
    return EXIT_OK


def cmd_console(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None, _operations: OpenOperations,
                ) -> int:
    import logging

    from bot.web import WebSide
    from bot.web.app import Hooks, build_app
    from bot.web.console import Console

    ops = _operations(args, clock, stream, create=False)
    ops.wake = lambda: None  # what editors send here is queued, due now: the daemon (bot run) sends it
    config = ops.bot.config
    if config.console is None:
        ops.bot.close()
        raise UsageError("bot console needs a console: section with secret_key: ${BOT_CONSOLE_SECRET} in the config")

    def health() -> tuple[bool, dict[str, object]]:
        try:
            ops.bot.store.queue_depth()
        except Exception as exc:
            return False, {"ok": False, "store": str(exc)[:200]}
        return True, {"ok": True, "console": True}

    host = args.host or (config.server.host if config.server else "127.0.0.1")
    port = args.port if args.port is not None else (config.server.port if config.server else 8080)
    app = build_app(Hooks(health), Console(lambda: ops))
    try:
        web = WebSide(host, port, app, forwarded_allow_ips=config.server.trusted_proxies if config.server
                      else "127.0.0.1")
    except OSError as exc:
        ops.bot.close()
        raise UsageError(f"cannot listen on {host}:{port} (--port or server.port): {exc.strerror or exc}") from exc
    logging.getLogger("bot").info("the console listens on http://%s:%d/ (database %s); stop with Ctrl-C",
                                  web.address, web.port, ops.bot.store.shown)
    try:
        web.serve_here()
    finally:
        ops.bot.close()
    return EXIT_OK


def commands(operations: OpenOperations) -> dict[str, Command]:
    """The commands, each opening its operations as ``bot.cli`` does."""
    def bound(fn: Callable[[argparse.Namespace, Clock | None, TextIO | None, OpenOperations], int]) -> Command:
        return lambda args, clock, stream: fn(args, clock, stream, operations)

    return {"user": bound(cmd_user), "console": bound(cmd_console)}
