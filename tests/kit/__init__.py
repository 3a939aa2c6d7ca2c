"""The test kit: everything the tests share except fixtures (those are in tests/conftest.py).

- ``servers``: the one HTTP server kit (``LocalServer``), the feed server (``FeedServer``) and the base of the
  platform fakes (``FakeServer``, ``Request``, ``Answer``, ``Fault``, ``closed_clean``).
- ``fake_x``, ``fake_telegram``, ``fake_facebook``, ``fake_mastodon``, ``fake_bluesky``, ``fake_discord``: one
  platform each, answering as the real service does over a real socket.
- ``wordpress``: feeds and REST answers in exactly WordPress's shape, and the sample site's posts.
- ``captured``: what the feeds captured from WordPress hold (``CAPTURED``, ``CAPTURED_PAGE_2``).
- ``conformance``: twitter-text's conformance file as pytest cases.
- ``configs``: config files for tests (``write_config``, ``sample_site``), a fake's ``account``, ``posts``.
- ``e2e``: publishing new articles and one platform's end-to-end setup (``EndToEnd``), ``JPEG``.
- ``articles``: ``site_article(n, title)``, an Article for the tests that skip the feed.
- ``runs``: ``run_cli`` / ``Run``, ``kill_poll_when``, ``wait_for``, ``free_port``.
- ``clock``: ``T0`` and ``manual_clock``.
- ``paths``: ``ROOT``, ``SHARED``, ``WORDPRESS_FIXTURES``, ``CONTRACTS``, ``need_shared``.
- ``databases``: the PostgreSQL server the tests use (``PG_URL``) and ``empty_postgres``.
"""
