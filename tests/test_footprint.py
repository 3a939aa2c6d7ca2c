"""The daemon stays small: each platform's library, the metrics library and Alembic are imported only when
used, and twitter-text loads without setuptools' pkg_resources. Checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .kit.configs import write_config
from .kit.paths import ROOT

PROBE = """
import json, sys
from pathlib import Path
from bot.config import load_config
from bot.core import Bot
from bot.daemon import Daemon
from bot.compose.length import count_x
config = load_config(sys.argv[1])
bot = Bot.open(config)  # a fresh database: created without Alembic
daemon = Daemon(bot, Path(sys.argv[1]))
daemon._warm_up()
lengths = [count_x(t) for t in ("مرحبا", "👋🏽 hi", "خبر https://qurays.com/?p=1")]
heavy = ["mastodon", "atproto", "atproto_client", "prometheus_client", "alembic", "pkg_resources"]
print(json.dumps({"loaded": [m for m in heavy if m in sys.modules], "lengths": lengths,
                  "x": "tweepy" in sys.modules}))
bot.close()
"""


def test_an_x_only_daemon_imports_only_what_it_uses(tmp_path: Path) -> None:
    path = write_config(tmp_path, feeds=[{"id": "main", "url": "file:///dev/null"}], accounts=[
        {"id": "x", "platform": "x", "base_url": "http://127.0.0.1:9",
         "credentials": {"consumer_key": "a", "consumer_secret": "b", "access_token": "c",
                         "access_token_secret": "d"}}])
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["loaded"] == [] and got["x"]
    # Counted as twitter-text counts when imported the usual way: Arabic 1 a letter, an emoji 2, a link 23.
    from twitter_text import parse_tweet

    assert got["lengths"] == [parse_tweet(t).weightedLength for t in ("مرحبا", "👋🏽 hi", "خبر https://qurays.com/?p=1")]
    assert got["lengths"] == [5, 5, 27]
