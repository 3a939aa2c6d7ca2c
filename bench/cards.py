"""Headline cards: how long one takes to draw (the sample's Arabic headlines, over a 12 MP camera photo,
landscape and portrait), and to read back from the cache. The goal: at most 150 ms a card.

    .venv/bin/python -m bench.cards [CARDS]
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from bot.cards import Card, cached, render
from bot.config.cards import CardsConfig
from tests.kit.wordpress import SAMPLE_ITEMS


def camera_photo(width: int = 4000, height: int = 3000) -> bytes:
    """A JPEG as a phone's camera makes it: 12 MP of detail (noise over a gradient), about 3 MB."""
    import os

    noise = Image.frombytes("L", (width // 4, height // 4), os.urandom(width * height // 16)).resize((width, height))
    base = Image.linear_gradient("L").resize((width, height))
    photo = Image.merge("RGB", (noise, base, Image.blend(noise, base, 0.5)))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=90)
    return out.getvalue()


def run(cards: int = 40) -> dict[str, Any]:
    template = CardsConfig()
    photo = io.BytesIO()
    photo.write(camera_photo())
    render(Card("تهيئة", None, None, "قريش"), template)  # fonts loaded once, as in a running daemon
    drawn: list[float] = []
    for n in range(cards):
        item = SAMPLE_ITEMS[n % len(SAMPLE_ITEMS)]
        card = Card(item.title, "عاجل" if n % 3 == 0 else None, photo.getvalue(), "قريش")
        started = time.perf_counter()
        render(card, template, "portrait" if n % 2 else "landscape")
        drawn.append((time.perf_counter() - started) * 1000)
    folder = Path(tempfile.mkdtemp(prefix="bench-cards-"))
    card = Card(SAMPLE_ITEMS[0].title, "عاجل", photo.getvalue(), "قريش")
    cached(card, template, "landscape", folder)
    started = time.perf_counter()
    cached(card, template, "landscape", folder)
    again = (time.perf_counter() - started) * 1000
    drawn.sort()
    return {"cards": cards, "median_ms": statistics.median(drawn), "max_ms": drawn[-1],
            "p95_ms": drawn[max(0, int(len(drawn) * 0.95) - 1)], "cached_ms": again}


if __name__ == "__main__":
    r = run(*(int(a) for a in sys.argv[1:2]))
    print(f"{r['cards']} cards: median {r['median_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, max {r['max_ms']:.0f} ms; "
          f"from the cache {r['cached_ms']:.1f} ms (goal ≤ 150 ms a card)")
