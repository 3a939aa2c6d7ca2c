"""Config: every kind of mistake gives one clear message (file, key path, line, what is allowed) and status 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import config_path, interpolate, load_config, parse_duration, parse_size
from bot.errors import ConfigError
from bot.store import database_url

from .kit.paths import ROOT

GOOD = """\
site:
  name: قريش
  url: https://news.example/
  timezone: Asia/Baghdad
feeds:
  - id: main
    url: https://news.example/?feed=rss2
    interval: 2m
accounts:
  - id: console
    platform: console
    template: "{title}\\n{short_link}"
"""


def write(tmp_path: Path, text: str, name: str = "bot.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problem(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ=environ or {})
    return info.value


def test_a_good_config_loads_with_its_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={})
    assert config.site.url == "https://news.example"  # trailing slash dropped
    assert config.site.text_direction == "rtl"  # Arabic: right to left unless told otherwise
    feed = config.feeds[0]
    assert feed.interval == timedelta(minutes=2)
    assert feed.max_size == 10_000_000 and feed.timeout == timedelta(seconds=20) and feed.backfill == 0
    assert config.site_url_of(feed) == "https://news.example"  # a feed's site_url defaults to site.url
    assert [a.id for a in config.accounts_for("main")] == ["console"]
    assert config.agent.startswith("wp-social-bot/")


def test_unknown_key_names_file_path_line_and_allowed_keys(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("    interval: 2m", "    interval: 2m\n    intervall: 5m"))
    [p] = err.problems
    assert p.path == "feeds[0].intervall" and p.line == 9
    assert "unknown key 'intervall'" in p.message
    assert "interval" in p.message and "backfill" in p.message  # what is allowed there
    assert f"{err.file}:9: feeds[0].intervall:" in str(err)


def test_unknown_key_in_an_account_lists_that_platforms_keys(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD + "    colour: blue\n")
    [p] = err.problems
    assert p.path == "accounts[0].colour" and p.line == 13
    assert "max_length" in p.message and "template" in p.message


def test_wrong_type(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("interval: 2m", "interval: soon"))
    [p] = err.problems
    assert p.path == "feeds[0].interval" and p.line == 8
    assert "duration" in p.message and "'soon'" in p.message


def test_wrong_type_for_a_number(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("    interval: 2m", "    interval: 2m\n    backfill: many"))
    [p] = err.problems
    assert p.path == "feeds[0].backfill" and "integer" in p.message and "'many'" in p.message


def test_missing_required_value(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("    url: https://news.example/?feed=rss2\n", ""))
    [p] = err.problems
    assert p.path == "feeds[0].url" and "required" in p.message and p.line == 6


def test_missing_site(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.split("feeds:")[0].replace("site:", "other:") + "feeds: []\n")
    paths = {p.path for p in err.problems}
    assert "site" in paths and "other" in paths


def test_unknown_template_field_is_caught_at_load(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("{title}\\n{short_link}", "{headline} {link}"))
    [p] = err.problems
    assert p.path == "accounts[0].template" and p.line == 12
    assert "unknown field {headline}" in p.message and "{title}" in p.message and "{excerpt}" in p.message


def test_template_with_format_spec_or_bad_brace(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("{title}\\n{short_link}", "{title:>10} {link"))
    assert "accounts[0].template" in str(err)


def test_unknown_platform_lists_the_platforms(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("platform: console", "platform: myspace"))
    [p] = err.problems
    assert p.path == "accounts[0].platform" and "unknown platform 'myspace'" in p.message
    assert "console" in p.message and p.line == 11


def test_bad_url_timezone_and_interval(tmp_path: Path) -> None:
    text = (GOOD.replace("url: https://news.example/?feed=rss2", "url: ftp://news.example/feed")
            .replace("Asia/Baghdad", "Mars/Olympus").replace("interval: 2m", "interval: 2s"))
    err = problem(tmp_path, text)
    by_path = {p.path: p.message for p in err.problems}
    assert "http" in by_path["feeds[0].url"]
    assert "IANA" in by_path["site.timezone"]
    assert "at least 10s" in by_path["feeds[0].interval"]
    assert str(err).startswith("3 config errors")


def test_duplicate_ids_and_unknown_feed_reference(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD + "    feeds: [main, sport]\n")
    [p] = err.problems
    assert p.path == "accounts[0].feeds[1]" and "no feed has id 'sport'" in p.message and p.line == 13
    text = GOOD.replace("accounts:", "  - id: main\n    url: https://news.example/x\naccounts:")
    err = problem(tmp_path, text)
    assert err.problems[0].path == "feeds[1].id" and "used twice" in err.problems[0].message


def test_environment_interpolation(tmp_path: Path) -> None:
    text = GOOD.replace("name: قريش", "name: ${SITE_NAME}").replace("interval: 2m", "interval: ${POLL:-90s}")
    config = load_config(write(tmp_path, text), environ={"SITE_NAME": "قريش نيوز"})
    assert config.site.name == "قريش نيوز" and config.feeds[0].interval == timedelta(seconds=90)
    assert interpolate("cost $$5 ${A}${B:-x}", {"A": "a"}) == ("cost $5 ax", [])


def test_missing_environment_variable_names_it_and_the_key(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("name: قريش", "name: ${SITE_NAME}"))
    [p] = err.problems
    assert p.path == "site.name" and "SITE_NAME is not set" in p.message and p.line == 2


def test_dotenv_beside_the_config_fills_variables_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# secrets\nexport SITE_NAME='قريش'\nPOLL=45s  # comment\n", encoding="utf-8")
    text = GOOD.replace("name: قريش", "name: ${SITE_NAME}").replace("interval: 2m", "interval: ${POLL}")
    config = load_config(write(tmp_path, text), environ={"POLL": "3m"})
    assert config.site.name == "قريش" and config.feeds[0].interval == timedelta(minutes=3)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD.replace("interval: 2m", "interval: [2m"))
    assert err.problems[0].line is not None and "not valid YAML" in err.problems[0].message


@pytest.mark.parametrize(("change", "words", "line"), [
    (("  name: قريش", "\tname: قريش"), "not valid YAML (column 1): a tab: YAML indents with spaces only", 2),
    (("name: قريش", "name: قريش: أخبار"), "a value holding ': ' must be in quotes", 2),
    (("    interval: 2m", "      interval: 2m"), "a value holding ': ' must be in quotes, or this line is indented", 8),
    (("  - id: main", "  - id: main\n - id: other"), "indentation does not line up", 7),
    (('template: "{title}\\n{short_link}"', "template: '{title}"), "a quote that is never closed", 13),
    (("name: قريش", "name: @qurays"), "a value cannot start with @: put it in quotes", 2),
])
def test_yaml_syntax_errors_are_said_in_plain_words(
    tmp_path: Path, change: tuple[str, str], words: str, line: int,
) -> None:
    assert change[0] in GOOD
    [p] = problem(tmp_path, GOOD.replace(*change)).problems
    assert words in p.message and p.line == line, (p.message, p.line)


def test_a_key_written_twice_is_an_error_not_silently_the_last(tmp_path: Path) -> None:
    [p] = problem(tmp_path, GOOD + "site:\n  name: other\n").problems
    assert "the key 'site' is written twice" in p.message and p.line == 13


def test_an_unquoted_template_and_an_id_are_explained(tmp_path: Path) -> None:
    [p] = problem(tmp_path, GOOD.replace('template: "{title}\\n{short_link}"', "template: {title}")).problems
    assert p.path == "accounts[0].template" and "read by YAML as a mapping: put it in quotes" in p.message
    [p] = problem(tmp_path, GOOD.replace("id: main", "id: أخبار")).problems
    assert p.path == "feeds[0].id" and "Latin letters, digits, '_', '.' or '-'" in p.message and "^[" not in p.message


def test_missing_file_says_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config PATH or set BOT_CONFIG"):
        load_config(tmp_path / "nope.yaml")


def test_config_path_order() -> None:
    assert config_path("a.yaml", {"BOT_CONFIG": "b.yaml"}) == Path("a.yaml")
    assert config_path(None, {"BOT_CONFIG": "b.yaml"}) == Path("b.yaml")
    assert config_path(None, {}) == Path("config/bot.yaml")


def test_relative_file_feed_is_relative_to_the_config(tmp_path: Path) -> None:
    text = GOOD.replace("url: https://news.example/?feed=rss2", "url: file:feeds/main.xml")
    config = load_config(write(tmp_path, text), environ={})
    assert config.feeds[0].url == "file://" + str(tmp_path / "feeds" / "main.xml")


def test_durations_and_sizes() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration(45) == timedelta(seconds=45)
    assert parse_duration("500ms") == timedelta(milliseconds=500)
    assert parse_size("10MB") == 10_000_000 and parse_size("5MiB") == 5 * 1024 * 1024
    with pytest.raises(ValueError):
        parse_duration("five minutes")


def test_cli_exits_2_with_the_message_and_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD.replace("interval: 2m", "interval: soon"))
    assert main(["poll", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:8: feeds[0].interval:" in err and "Traceback" not in err


def test_bot_config_variable_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, GOOD.replace("platform: console", "platform: nope"))
    monkeypatch.setenv("BOT_CONFIG", str(path))
    assert main(["poll"]) == 2
    assert str(path) in capsys.readouterr().err


def test_python_dash_m_bot_reports_config_errors_with_status_2(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "    colour: blue\n")
    proc = subprocess.run([sys.executable, "-m", "bot", "run", "--config", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert "accounts[0].colour" in proc.stderr and "Traceback" not in proc.stderr


def test_example_and_demo_configs_load() -> None:
    keys = {k: "x" for k in ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET",
                             "TELEGRAM_BOT_TOKEN", "FACEBOOK_PAGE_TOKEN", "MASTODON_TOKEN", "BLUESKY_APP_PASSWORD",
                             "BOT_PING_TOKEN")}
    keys["DISCORD_WEBHOOK_URL"] = "https://discord.com/api/webhooks/1/x"  # a webhook's URL, or refused
    keys["INSTAGRAM_ACCESS_TOKEN"] = "x"
    example = load_config(ROOT / "config" / "bot.example.yaml", environ=keys)
    assert example.feeds[0].id == "main"
    demo = load_config(ROOT / "config" / "demo.yaml", environ={})
    assert demo.feeds[0].url.startswith("file://") and Path(demo.feeds[0].url[7:]).exists()


def test_the_example_config_runs_as_installed_with_the_empty_secrets_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The systemd unit's install steps as written: the example config and deploy/env.example (every value
    empty) pass `bot config check`; the accounts are off until their secrets are set, and an enabled one
    without them is named."""
    import shutil

    shutil.copy(ROOT / "config" / "bot.example.yaml", tmp_path / "bot.yaml")
    shutil.copy(ROOT / "deploy" / "env.example", tmp_path / "env")
    (tmp_path / "env").chmod(0o640)
    monkeypatch.setenv("BOT_ENV_FILE", str(tmp_path / "env"))
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    assert main(["config", "check", "--config", str(tmp_path / "bot.yaml")]) == 0
    assert "config ok: site قريش" in capsys.readouterr().out
    config = load_config(tmp_path / "bot.yaml")
    assert [a.id for a in config.accounts if a.enabled] == ["console"] and config.server is not None
    assert config.server.ping_token is None  # no ping endpoint until BOT_PING_TOKEN is set
    text = (tmp_path / "bot.yaml").read_text(encoding="utf-8")
    (tmp_path / "bot.yaml").write_text(text.replace("  - id: telegram\n    platform: telegram\n    enabled: false",
                                                    "  - id: telegram\n    platform: telegram\n    enabled: true"),
                                       encoding="utf-8")
    assert main(["config", "check", "--config", str(tmp_path / "bot.yaml")]) == 2
    assert "accounts[2].bot_token: $TELEGRAM_BOT_TOKEN is set but empty" in capsys.readouterr().err


def test_the_example_alerts_section_is_valid_once_uncommented(tmp_path: Path) -> None:
    import re

    text = (ROOT / "config" / "bot.example.yaml").read_text(encoding="utf-8")
    block = re.search(r"^# alerts:\n(?:#.*\n)+", text, re.M)
    assert block is not None
    uncommented = "\n".join(line[2:] for line in block.group(0).splitlines()) + "\n"
    path = write(tmp_path, GOOD + uncommented)
    config = load_config(path, environ={"ALERT_TELEGRAM_TOKEN": "1:a", "SMTP_PASSWORD": "p",
                                        "ALERT_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"})
    assert config.alerts is not None
    assert [c.name for c in config.alerts.channels] == ["telegram", "email", "webhook"]


def test_example_config_documents_every_option() -> None:
    """Every key of every model appears in bot.example.yaml."""
    from pydantic import BaseModel

    from bot.config import (
        BlueskyAccount,
        BotConfig,
        ConsoleAccount,
        DiscordAccount,
        FacebookAccount,
        FeedConfig,
        HashtagConfig,
        InstagramAccount,
        Limits,
        MastodonAccount,
        NameFilter,
        ServerConfig,
        ShortLinkConfig,
        SiteConfig,
        TelegramAccount,
        ThreadsAccount,
        UtmConfig,
        XAccount,
        XCredentials,
    )

    text = (ROOT / "config" / "bot.example.yaml").read_text(encoding="utf-8")
    from bot.config.accounts import XBudget, XPrices
    from bot.config.alerts import AlertsConfig, EmailChannel, TelegramChannel, WebhookChannel
    from bot.config.common import ApprovalConfig

    models: list[type[BaseModel]] = [BotConfig, SiteConfig, FeedConfig, ConsoleAccount, ShortLinkConfig,
                                     HashtagConfig, UtmConfig, XAccount, XCredentials, TelegramAccount,
                                     FacebookAccount, MastodonAccount, BlueskyAccount, Limits, NameFilter,
                                     ServerConfig, AlertsConfig, TelegramChannel, EmailChannel, WebhookChannel,
                                     XPrices, XBudget, ApprovalConfig, DiscordAccount, InstagramAccount,
                                     ThreadsAccount]
    missing = [f"{m.__name__}.{k}" for m in models for k in m.model_fields if f"{k}:" not in text]
    assert missing == []


def test_approval_is_none_all_or_categories_and_tags(tmp_path: Path) -> None:
    ok = load_config(write(tmp_path, GOOD + "    approval: {categories: [عاجل], tags: [سياسة]}\n"), environ={})
    assert ok.accounts[0].approval.categories == ["عاجل"] and ok.accounts[0].approval.tags == ["سياسة"]
    assert load_config(write(tmp_path, GOOD + "    approval: all\n"), environ={}).accounts[0].approval.all
    assert not load_config(write(tmp_path, GOOD + "    approval:\n"), environ={}).accounts[0].approval.enabled
    err = problem(tmp_path, GOOD + "    approval: some\n")
    assert err.problems[0].path == "accounts[0].approval" and err.problems[0].line == GOOD.count("\n") + 1
    assert "expected none, all, or {categories: [...], tags: [...]}, got 'some'" in err.problems[0].message
    assert "give categories" in problem(tmp_path, GOOD + "    approval: {categories: []}\n").problems[0].message
    unknown = problem(tmp_path, GOOD + "    approval: {labels: [عاجل]}\n").problems[0]
    assert unknown.path == "accounts[0].approval.labels"


def test_database_url_is_checked(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD + "database: not a url\n")
    assert err.problems[0].path == "database" and "database URL" in err.problems[0].message
    err = problem(tmp_path, GOOD + "database: mysql://bot@db/news\n")
    assert "mysql is not supported" in err.problems[0].message
    err = problem(tmp_path, GOOD + "database: postgresql+asyncpg://bot@db/news\n")
    assert "psycopg" in err.problems[0].message
    for given in ("postgresql://bot:pw@db/news", "postgres://bot:pw@db/news"):
        config = load_config(write(tmp_path, GOOD + f"database: {given}\n"), environ={})
        assert database_url(config.database, config.data_dir) == "postgresql+psycopg://bot:pw@db/news"
        assert "pw" in config.secrets()


def test_database_url_comes_from_the_environment(tmp_path: Path) -> None:
    """Heroku and most hosts give the database as $DATABASE_URL (in the postgres:// form)."""
    path = write(tmp_path, GOOD)
    config = load_config(path, environ={"DATABASE_URL": "postgres://u:secret@db.internal:5432/d1"})
    assert database_url(config.database, config.data_dir) == "postgresql+psycopg://u:secret@db.internal:5432/d1"
    assert "secret" in config.secrets()
    assert load_config(path, environ={}).database is None  # then SQLite in data_dir
    written = load_config(write(tmp_path, GOOD + "database: sqlite:///x.db\n"),
                          environ={"DATABASE_URL": "postgres://u:p@db/d"})
    assert written.database == f"sqlite:///{tmp_path / 'x.db'}"  # the config file wins (beside it, when relative)


def test_composition_options(tmp_path: Path) -> None:
    text = GOOD.replace("  timezone: Asia/Baghdad\n", "  timezone: Asia/Baghdad\n  short_link: none\n") + (
        "    templates:\n"
        "      عاجل: \"🔴 {POST_TITLE}\\n{PERMALINK}\"\n"
        "    hashtags: {source: tags, max: 2, exclude: [غير مصنف], map: {البنتاغون: Pentagon}}\n"
        "    utm: {source: twitter, medium: social}\n"
        "    short_link: {kind: bitly, token: t}\n"
    )
    config = load_config(write(tmp_path, text), environ={})
    assert config.site.short_link.kind == "none"  # a word is the kind
    [account] = config.accounts
    assert account.short_link is not None and account.short_link.kind == "bitly"
    assert account.templates["عاجل"] == "🔴 {title}\n{link}"  # the plugin's placeholders, made ours
    assert account.template_for(["سياسة", "عـاجِل"]) == "🔴 {title}\n{link}"  # names compare without tatweel
    assert account.template_for(["سياسة"]) == account.template
    assert account.hashtags.source == "tags" and account.hashtags.map == {"البنتاغون": "Pentagon"}


@pytest.mark.parametrize(("snippet", "path", "message"), [
    ("  short_link: {kind: yourls}\n", "site.short_link", "yourls needs api_url"),
    ("  short_link: tinyurl\n", "site.short_link.kind", "'wordpress', 'yourls', 'bitly' or 'none'"),
    ("  short_link: {kind: wordpress, timeout: 30s}\n", "site.short_link.timeout", "between 0s and 10s"),
])
def test_short_link_mistakes(tmp_path: Path, snippet: str, path: str, message: str) -> None:
    err = problem(tmp_path, GOOD.replace("  timezone: Asia/Baghdad\n", "  timezone: Asia/Baghdad\n" + snippet))
    [p] = err.problems
    assert p.path == path and message in p.message and p.line == 5


def test_a_category_template_is_checked_too(tmp_path: Path) -> None:
    err = problem(tmp_path, GOOD + "    templates: {عاجل: \"{headline}\"}\n")
    [p] = err.problems
    assert p.path == "accounts[0].templates.عاجل" and "unknown field {headline}" in p.message


def test_durations_must_be_positive_and_base_urls_http(tmp_path: Path) -> None:
    text = GOOD.replace("interval: 2m", "interval: 2m\n    timeout: 0s") + (
        "    max_length: 100\n") + "  - id: tg\n    platform: telegram\n    bot_token: '1:a'\n    chat_id: '@c'\n" \
        "    base_url: ftp://x\n    timeout: 0\ndispatch_interval: 0\n"
    err = problem(tmp_path, text)
    by_path = {p.path: p.message for p in err.problems}
    assert "longer than 0s" in by_path["feeds[0].timeout"] and "longer than 0s" in by_path["dispatch_interval"]
    assert "longer than 0s" in by_path["accounts[1].timeout"] and "http" in by_path["accounts[1].base_url"]


def test_an_empty_environment_variable_is_named_with_its_key(tmp_path: Path) -> None:
    text = GOOD + """\
  - id: tg
    platform: telegram
    bot_token: ${TELEGRAM_BOT_TOKEN}
    chat_id: "@qurays"
"""
    err = problem(tmp_path, text, {"TELEGRAM_BOT_TOKEN": ""})  # as deploy/env.example ships it
    [p] = err.problems
    assert p.path == "accounts[1].bot_token"
    assert p.message.startswith("$TELEGRAM_BOT_TOKEN is set but empty") and p.line == 15
    assert "at least 1 item" not in p.message
