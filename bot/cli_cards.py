"""``bot card``: a headline card drawn to a PNG file, with the config's ``cards:`` template."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.cli_console import Command, OpenOperations
from bot.clock import Clock


def add_parsers(sub_parser: Callable[[str, str], argparse.ArgumentParser],
                common: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    p = sub_parser("card", "draw a headline card (the headline over the article's image, Arabic shaped) to a PNG")
    common(p, False)
    p.add_argument("--title", metavar="TEXT", help="the headline")
    p.add_argument("--url", metavar="ARTICLE_URL", help="take the headline and image from the article's page")
    p.add_argument("--label", metavar="LABEL", help="a label (one of cards.breaking, e.g. عاجل, draws the band)")
    p.add_argument("--image", metavar="PATH|URL", help="the image behind the headline")
    p.add_argument("--size", metavar="NAME",
                   help="one of cards.sizes (landscape 1200×675, portrait 1080×1350, square 1080×1080); default "
                        "the account's card_size with --account, else landscape")
    p.add_argument("--account", metavar="ID", help="draw it as this account's posts carry it (its card_size)")
    p.add_argument("--output", "-o", metavar="FILE", required=True,
                   help="where to write it: a PNG, or a JPEG when the name ends .jpg or .jpeg")


def commands(operations: OpenOperations) -> dict[str, Command]:
    def card(args: argparse.Namespace, clock: Clock | None, stream: TextIO | None) -> int:
        ops = operations(args, clock, stream, secrets=False, create=False, scratch=True)
        try:
            size = args.size or (str(getattr(ops.bot.account(args.account), "card_size", "landscape"))
                                 if args.account else "landscape")
            fmt = "jpeg" if Path(args.output).suffix.lower() in (".jpg", ".jpeg") else "png"  # as the file is named
            data = ops.card(title=args.title, url=args.url, label=args.label, image=args.image, size=size, fmt=fmt)
        finally:
            ops.bot.close()
        Path(args.output).write_bytes(data)
        (stream or sys.stdout).write(f"{args.output}: {len(data):,} bytes\n")
        return 0

    return {"card": card}
