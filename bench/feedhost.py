"""A WordPress-like feed host in its own process, so that a benchmark measures the bot and not the server.

    python -m bench.feedhost PORT [--interval SECONDS]

Paths (each body is the WordPress feed the benchmarks read, see bench.common):
- ``/feed``: always the same body, with an ETag: 304 to a conditional GET;
- ``/moved``: each request the same items, but a new ``lastBuildDate`` (and no ETag);
- ``/new``: each request one more new item on top;
- ``/site/N``: feed N of a thousand-feed site. Every ``--interval`` seconds a cycle begins; feed N gets a new
  item in the cycles where (N + cycle) is a multiple of 10, so a tenth of the feeds change per cycle; ETags
  and 304s as WordPress behind a cache answers.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.common import wordpress_feed

BODY, _ = wordpress_feed()
_FIRST_ITEM = re.compile(rb"<item>.*?</item>", re.S)


def with_build_date(body: bytes, n: int) -> bytes:
    return re.sub(rb"<lastBuildDate>[^<]*</lastBuildDate>",
                  f"<lastBuildDate>Sun, 29 Nov 2026 {n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d} +0000"
                  f"</lastBuildDate>".encode(), body, count=1)


def with_new_items(body: bytes, ids: range, feed: int = 0) -> bytes:
    """The feed with new items on top (copies of its first item with new guids, links and headlines)."""
    first = _FIRST_ITEM.search(body)
    assert first is not None
    made = []
    for n in reversed(ids):
        post = 1_000_000 * (feed + 1) + n
        item = re.sub(rb"<title>[^<]*</title>", f"<title>خبر جديد رقم {n} للقياس</title>".encode(),
                      first.group(0), count=1)
        item = re.sub(rb"<guid[^>]*>[^<]*</guid>",
                      f'<guid isPermaLink="false">https://news.example/?p={post}</guid>'.encode(), item, count=1)
        item = re.sub(rb"<link>[^<]*</link>", f"<link>https://news.example/?p={post}</link>".encode(), item, count=1)
        made.append(item)
    return body[:first.start()] + b"\n\t\t".join([*made, b""]) + body[first.start():]


class Host:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.started = time.monotonic()
        self.counters = {"moved": 0, "new": 0}
        self.lock = threading.Lock()
        self.cache: dict[tuple[int, int], bytes] = {}
        self.hits: dict[int, list[float]] = {}  #: site feed → when it was asked for (seconds since start)

    def cycle(self) -> int:
        return int((time.monotonic() - self.started) // self.interval)

    def site_feed(self, n: int) -> bytes:
        with self.lock:
            self.hits.setdefault(n, []).append(round(time.monotonic() - self.started, 3))
        version = sum(1 for c in range(self.cycle() + 1) if (n + c) % 10 == 0)
        key = (n, version)
        if key not in self.cache:
            self.cache[key] = with_new_items(BODY, range(version), feed=n)
        return self.cache[key]

    def answer(self, path: str) -> tuple[bytes, bool]:
        """The body for a path, and whether it carries an ETag."""
        if path == "/feed":
            return BODY, True
        if path == "/moved":
            with self.lock:
                self.counters["moved"] += 1
                n = self.counters["moved"]
            return with_build_date(BODY, n), False
        if path == "/new":
            with self.lock:
                self.counters["new"] += 1
                n = self.counters["new"]
            return with_new_items(BODY, range(n - 1, n)), False
        if path.startswith("/site/"):
            return self.site_feed(int(path.rsplit("/", 1)[1])), True
        raise KeyError(path)


def serve(port: int, interval: float) -> None:
    host = Host(interval)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/stats":  # when each site feed was asked for, and how many items it has had
                import json

                with host.lock:
                    stats = {"now": time.monotonic() - host.started, "hits": host.hits,
                             "published": sum(sum(1 for c in range(host.cycle() + 1) if (n + c) % 10 == 0)
                                              for n in host.hits)}
                    body = json.dumps(stats).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            try:
                body, tagged = host.answer(self.path)
            except (KeyError, ValueError):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if tagged:
                etag = '"' + hashlib.md5(body).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=UTF-8")
            if tagged:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--interval", type=float, default=60.0)
    args = parser.parse_args()
    try:
        serve(args.port, args.interval)
    except KeyboardInterrupt:
        sys.exit(0)
