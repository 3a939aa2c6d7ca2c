"""Schema revisions and Alembic migrations, on SQLite and on PostgreSQL: an empty database gets the newest
schema, an older one is refused until `bot migrate` (or migrate_on_start), a newer one is refused, and the
migrations build exactly the tables the code uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.errors import StoreError
from bot.store import Store, make_engine, metadata, schema

from .kit.clock import T0
from .kit.configs import write_config
from .kit.servers import FeedServer
from .kit.wordpress import Item, rss2


def alembic(url: str, revision: str, *, down: bool = False) -> None:
    """Run the project's migrations by hand to ``revision`` (as an older bot would have left the database)."""
    engine = make_engine(url)
    with engine.begin() as c:
        cfg = Config()
        cfg.set_main_option("script_location", str(schema.MIGRATIONS))
        cfg.attributes["connection"] = c
        (command.downgrade if down else command.upgrade)(cfg, revision)
    engine.dispose()


def revision_of(url: str) -> str | None:
    engine = make_engine(url)
    with engine.connect() as c:
        found = schema.current_revision(c)
    engine.dispose()
    return found


def test_head_and_revisions_match_the_migration_files() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(schema.MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    assert script.get_current_head() == schema.HEAD
    assert tuple(reversed([r.revision for r in script.walk_revisions()])) == schema.REVISIONS


def test_migrations_build_exactly_the_schema_the_code_uses(db_url: str) -> None:
    alembic(db_url, "head")
    engine = make_engine(db_url)
    with engine.connect() as c:
        differences = compare_metadata(MigrationContext.configure(c), metadata)
    engine.dispose()
    assert differences == []
    alembic(db_url, "base", down=True)  # and they go back down
    engine = make_engine(db_url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_an_empty_database_gets_the_newest_schema(db_url: str) -> None:
    store = Store.open(db_url)
    store.close()
    assert revision_of(db_url) == schema.HEAD
    engine = make_engine(db_url)
    with engine.connect() as c:
        assert compare_metadata(MigrationContext.configure(c), metadata) == []
    engine.dispose()


def _old_database_with_data(url: str) -> None:
    """A database at revision 0001 holding an article and its delivery, as the previous release left it."""
    alembic(url, "0001")
    engine = make_engine(url)
    naive = T0.replace(tzinfo=None)
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO feeds (id, url, initialized, failures) VALUES ('main', 'x', true, 0)"))
        c.execute(sa.text(
            "INSERT INTO articles (feed_id, guid, title, link, summary, author, labels, image_urls, first_seen_at,"
            " updated_at) VALUES ('main', 'g1', 'خبر قديم', 'https://news.example/?p=1', '', '', '[]', '[]', :t, :t)"),
            {"t": naive})
        c.execute(sa.text(
            "INSERT INTO deliveries (article_id, account_id, state, priority, attempts, created_at, updated_at)"
            " SELECT id, 'console', 'sent', 0, 1, :t, :t FROM articles"), {"t": naive})
    engine.dispose()


def test_an_older_schema_is_refused_until_bot_migrate(db_url: str, tmp_path: Path, feed_server: FeedServer,
                                                      run_bot) -> None:  # type: ignore[no-untyped-def]
    _old_database_with_data(db_url)
    with pytest.raises(StoreError, match=rf"revision 0001 .* needs {schema.HEAD}: back it up, then run `bot migrate`"):
        Store.open(db_url)
    feed_server.set("/feed", rss2([Item(1, "خبر")]))
    path = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed")}], database=db_url)
    refused = run_bot("poll", "--config", str(path))
    assert refused.code == 1 and revision_of(db_url) == "0001"  # the daemon did not run on it

    done = run_bot("migrate", "--config", str(path))
    assert done.code == 0 and revision_of(db_url) == schema.HEAD
    again = run_bot("migrate", "--config", str(path))
    assert again.code == 0 and revision_of(db_url) == schema.HEAD
    store = Store.open(db_url)
    [row] = store.deliveries()
    assert (row.title, row.state, row.account_id) == ("خبر قديم", "sent", "console")  # nothing lost
    assert store.feed_state("main") is not None and store.feed_state("main").lease_owner is None  # type: ignore[union-attr]
    store.close()


def test_bot_migrate_says_what_it_did(db_url: str, tmp_path: Path, feed_server: FeedServer,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    _old_database_with_data(db_url)
    path = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed")}], database=db_url)
    assert main(["migrate", "--config", str(path)]) == 0
    assert f"migrated the database from revision 0001 to {schema.HEAD}" in capsys.readouterr().out
    assert main(["migrate", "--config", str(path)]) == 0
    assert f"at revision {schema.HEAD}, the newest: nothing to do" in capsys.readouterr().out


def test_migrate_on_start(db_url: str, tmp_path: Path, feed_server: FeedServer, run_bot) -> None:  # type: ignore[no-untyped-def]
    _old_database_with_data(db_url)
    feed_server.set("/feed", rss2([Item(1, "خبر")]))
    path = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed")}], database=db_url,
                        migrate_on_start=True)
    assert run_bot("poll", "--config", str(path)).code == 0
    assert revision_of(db_url) == schema.HEAD


def test_tables_made_before_migrations_existed_count_as_the_first_revision(db_url: str) -> None:
    alembic(db_url, "0001")
    engine = make_engine(db_url)
    with engine.begin() as c:
        c.execute(sa.text("DROP TABLE alembic_version"))
    engine.dispose()
    assert revision_of(db_url) == "0001"
    with pytest.raises(StoreError, match="bot migrate"):
        Store.open(db_url)
    Store.open(db_url, migrate=True).close()
    assert revision_of(db_url) == schema.HEAD


def test_a_database_of_a_newer_bot_is_refused(db_url: str) -> None:
    Store.open(db_url).close()
    engine = make_engine(db_url)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(StoreError, match="revision 0099, which this version of the bot does not know"):
        Store.open(db_url, migrate=True)


def test_a_postgres_password_never_shows_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        Store.open("postgres://bot:s3cret-pw@127.0.0.1:1/news")
    assert "s3cret-pw" not in str(caught.value) and "cannot open the database" in str(caught.value)
    assert "postgresql+psycopg://bot:***@127.0.0.1:1/news" in str(caught.value)


def test_migration_0007_widens_the_state_and_keeps_every_row_and_its_history(db_url: str) -> None:
    """From 0006 with data: the deliveries table is copied on SQLite (to widen ``state``), and its history rows,
    which cascade from it, must survive that; a text frozen before is marked as maybe on the platform."""
    alembic(db_url, "0006")
    engine = make_engine(db_url)
    naive = T0.replace(tzinfo=None)
    with engine.begin() as c:
        c.execute(sa.text(
            "INSERT INTO articles (feed_id, guid, title, link, summary, author, labels, image_urls, first_seen_at,"
            " updated_at) VALUES ('main', 'g1', 'خبر قديم', 'https://news.example/?p=1', '', '', '[]', '[]', :t, :t)"),
            {"t": naive})
        for account, text in (("x", "نص مجمد"), ("tg", None)):
            c.execute(sa.text(
                "INSERT INTO deliveries (article_id, account_id, state, priority, attempts, text, created_at,"
                " updated_at, revision) SELECT id, :a, 'queued', 0, 1, :text, :t, :t, 0 FROM articles"),
                {"a": account, "text": text, "t": naive})
        c.execute(sa.text("INSERT INTO delivery_events (delivery_id, at, event, detail, by) "
                          "SELECT id, :t, 'retry', 'retry asked by هدى', 'هدى' FROM deliveries"), {"t": naive})
    engine.dispose()
    store = Store.open(db_url, migrate=True)
    x, tg = store.deliveries()
    assert [e.by for e in store.history(x.id)] == ["هدى"] and [e.event for e in store.history(tg.id)] == ["retry"]
    assert (x.text, x.maybe_posted, tg.maybe_posted) == ("نص مجمد", True, False)
    with store.engine.begin() as c:
        tried = c.execute(sa.text("SELECT first_tried_at FROM deliveries WHERE text IS NOT NULL")).scalar()
        c.execute(sa.text("UPDATE deliveries SET state = 'awaiting_approval' WHERE account_id = 'tg'"))
    assert tried is not None  # a frozen text is not taken for an editor's text never tried
    assert [r.account_id for r in store.deliveries(state="awaiting_approval")] == ["tg"]
    store.close()
    alembic(db_url, "0006", down=True)  # and back: what waits for an approval the older bot knows nothing of is
    engine = make_engine(db_url)        # not posted unapproved
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT state FROM deliveries WHERE account_id = 'tg'")).scalar() == "skipped"
        assert c.execute(sa.text("SELECT count(*) FROM delivery_events")).scalar() == 2
    engine.dispose()


def test_migration_0011_marks_a_persons_text_sent_before_it_as_no_correction_target(db_url: str) -> None:
    """From 0010 with data: a post whose text a person wrote (an ``edit`` in its history) gets ``source_text`` '',
    so a corrected headline never replaces it; one composed from the headline is left to compare with it."""
    alembic(db_url, "0010")
    engine = make_engine(db_url)
    naive = T0.replace(tzinfo=None)
    with engine.begin() as c:
        c.execute(sa.text(
            "INSERT INTO articles (feed_id, guid, title, link, summary, author, labels, image_urls, first_seen_at,"
            " updated_at) VALUES ('main', 'g1', 'خبر قديم', 'https://news.example/?p=1', '', '', '[]', '[]', :t, :t)"),
            {"t": naive})
        for account, text in (("x", "نص المحرر"), ("tg", "خبر قديم")):
            c.execute(sa.text(
                "INSERT INTO deliveries (article_id, account_id, state, priority, attempts, text, created_at,"
                " updated_at, revision, maybe_posted, frozen_title) SELECT id, :a, 'sent', 0, 1, :text, :t, :t, 0,"
                " false, 'خبر قديم' FROM articles"), {"a": account, "text": text, "t": naive})
        c.execute(sa.text("INSERT INTO delivery_events (delivery_id, at, event, detail, by) SELECT id, :t, 'edit',"
                          " 'نص المحرر', 'هدى' FROM deliveries WHERE account_id = 'x'"), {"t": naive})
    engine.dispose()
    store = Store.open(db_url, migrate=True)
    with store.engine.connect() as c:
        sources = dict(c.execute(sa.text("SELECT account_id, source_text FROM deliveries")).all())
        assert c.execute(sa.text("SELECT count(*) FROM deliveries WHERE revise IS NOT NULL")).scalar() == 0
    assert sources == {"x": "", "tg": None}
    with store.engine.begin() as c:  # and one composed from the plugin's custom text (0010) is compared with it
        c.execute(sa.text("UPDATE articles SET editor_text = 'نص مخصص'"))
    store.close()
    alembic(db_url, "0010", down=True)
    alembic(db_url, "0011")
    store = Store.open(db_url)
    with store.engine.connect() as c:
        sources = dict(c.execute(sa.text("SELECT account_id, source_text FROM deliveries")).all())
    assert sources == {"x": "", "tg": "نص مخصص"}
    store.close()
    alembic(db_url, "0010", down=True)
    engine = make_engine(db_url)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM deliveries")).scalar() == 2
    engine.dispose()
