"""Where things are: the project root, the shared folder beside it (captured fixtures, the platforms'
contracts) and ``need_shared``, which skips a test when the shared folder is not there."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent  #: the project (the folder holding bot/ and tests/)
SHARED = ROOT.parent / "shared"  #: ../shared beside the project
WORDPRESS_FIXTURES = SHARED / "fixtures" / "wordpress"  #: feeds and REST answers captured from WordPress
CONTRACTS = SHARED / "contracts"  #: the platforms' API documents the fakes check requests against
DEMO_FEED = ROOT / "config" / "demo" / "feed.xml"  #: the demo feed ``python -m tests.kit.wordpress`` writes


def need_shared(path: Path) -> Path:
    """``path`` (under the shared folder), or skip the test when it is absent."""
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared folder (../shared beside the project) is not here")
    return path
