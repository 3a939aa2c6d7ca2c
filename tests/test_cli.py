"""The command line: every command has help and is documented; person-made mistakes exit 2."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.cli import COMMANDS, build_parser, main
from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot

from .kit.configs import account, sample_site, write_config
from .kit.fake_telegram import FakeTelegram
from .kit.paths import ROOT
from .kit.runs import Run
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, rss2


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    subs = subcommands()
    assert set(subs) == set(COMMANDS)
    for name, parser in subs.items():
        assert parser.description, f"bot {name} --help does not say what the command does"
        assert parser.description in " ".join(parser.format_help().split()).replace("- ", "-")
        for action in parser._actions:
            assert action.help, f"bot {name}: {action.option_strings or action.dest} has no description"
        assert f"`bot {name}" in readme, f"bot {name} is not documented in README.md"


def test_python_dash_m_bot_help_and_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert proc.returncode == 0 and "run" in proc.stdout and "poll" in proc.stdout
    assert main(["--version"]) == 0


def test_unknown_command_and_missing_command_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert main([]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "run --config config/demo.yaml" in makefile and "pytest" in makefile
    assert (ROOT / "Procfile").read_text().strip() == "worker: bot run"


def test_release(tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
                 capsys: pytest.CaptureFixture[str]) -> None:
    config = sample_site(tmp_path, feed_server)
    bot = Bot.open(load_config(config), clock=clock)
    bot.store.hold_account("console", "Unauthorized", clock.now())
    bot.close()
    assert main(["release", "console", "--config", str(config)], clock=clock) == 0
    assert "console: released" in capsys.readouterr().out
    bot = Bot.open(load_config(config), clock=clock)
    assert not bot.store.account_state("console").held
    bot.close()
    assert main(["release", "nobody", "--config", str(config)], clock=clock) == 2
    assert "no account 'nobody'" in capsys.readouterr().err


def test_deployment_files_are_consistent() -> None:
    unit = (ROOT / "deploy" / "wp-social-bot.service").read_text(encoding="utf-8")
    assert "EnvironmentFile=/etc/wp-social-bot/env" in unit and "bot run --config" in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    env = (ROOT / "deploy" / "env.example").read_text(encoding="utf-8")
    example = (ROOT / "config" / "bot.example.yaml").read_text(encoding="utf-8")
    import re

    live = "\n".join(line.split(" #")[0] for line in example.splitlines() if not line.lstrip().startswith("#"))
    for var in re.findall(r"\$\{([A-Z_]+)\}", live):
        assert f"{var}=" in env, f"{var} is used in bot.example.yaml but not in deploy/env.example"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Update Services" in readme and "--allow-sqlite-on-heroku" in readme


def test_the_systemd_unit_is_hardened_to_ok(tmp_path: Path) -> None:
    """`systemd-analyze security` scores the unit 3.0 or better ("OK"), offline (no running systemd needed)."""
    import os
    import re
    import shutil

    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("BOT_TEST_SYSTEMD") == "required":
            pytest.fail("systemd-analyze is not installed, and BOT_TEST_SYSTEMD=required")
        pytest.skip("systemd-analyze is not installed (Debian's systemd package): the unit's score is not checked")
    proc = subprocess.run([tool, "security", "--offline=true", "--no-pager",
                           str(ROOT / "deploy" / "wp-social-bot.service")],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for wp-social-bot\.service: (\d+\.\d+)", proc.stdout)
    assert found, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert float(found.group(1)) <= 3.0, proc.stdout
    unit = (ROOT / "deploy" / "wp-social-bot.service").read_text(encoding="utf-8")
    assert "UMask=0077" in unit and "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" in unit


def test_run_refuses_sqlite_on_heroku(tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    config = sample_site(tmp_path, feed_server)
    monkeypatch.setenv("DYNO", "worker.1")
    assert main(["run", "--config", str(config)]) == 2
    assert "SQLite would forget what was posted" in capsys.readouterr().err


def site_folder(tmp_path: Path, feed_server: FeedServer) -> Path:
    """A site's own folder with its config (relative paths: no database named) reading the sample feed."""
    site = tmp_path / "site"
    site.mkdir()
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    (site / "bot.yaml").write_text(yaml.safe_dump({
        "site": {"name": "قريش", "url": "https://news.example", "timezone": "Asia/Baghdad"},
        "feeds": [{"id": "main", "url": feed_server.url("/feed")}],
        "accounts": [{"id": "console", "platform": "console", "output": "posts.jsonl"}]}, allow_unicode=True))
    return site


def test_every_command_finds_the_same_database_from_any_folder_and_reading_never_creates_one(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site = site_folder(tmp_path, feed_server)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run_bot("status", "--config", "../site/bot.yaml").code == 1
    assert "there is no database at" in capsys.readouterr().err
    assert run_bot("preview", "--config", "../site/bot.yaml").code == 0  # needs no state: nothing created
    assert not (site / "var").exists() and not (elsewhere / "var").exists()
    assert run_bot("poll", "--config", "../site/bot.yaml").code == 0
    assert (site / "var" / "bot.sqlite3").exists() and not (elsewhere / "var").exists()
    status = run_bot("status", "--config", "../site/bot.yaml")
    assert f"database {site / 'var' / 'bot.sqlite3'}" in status.out and "main: last poll" in status.out


def test_json_logs_keep_numbers_as_numbers(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    path = sample_site(tmp_path, feed_server)
    run_bot("poll", "--log-format", "json", "--config", str(path))
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [poll] = [e for e in events if e.get("feed") == "main" and "entries" in e]
    assert poll["entries"] == 10 and poll["queued"] == 0 and isinstance(poll["ms"], int)
    assert poll["time"].endswith("+03:00")  # ISO 8601 in the site's timezone


def test_config_check_validates_offline(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], capsys: pytest.CaptureFixture[str],
) -> None:
    path = sample_site(tmp_path, feed_server)
    ok = run_bot("config", "check", "--config", str(path))
    assert ok.code == 0
    assert ok.out.startswith("config ok: site قريش, 1 feed(s) (main), 1 account(s) (console (console))")
    assert feed_server.hits("/feed") == [] and not (tmp_path / "bot.sqlite3").exists()  # nothing contacted, made
    typo = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "intervall": "1m"}])
    bad = run_bot("config", "check", "--config", str(typo))
    err = capsys.readouterr().err
    assert bad.code == 2 and "unknown key 'intervall'; did you mean 'interval'?" in err


def test_hold_and_release_take_a_reason_and_check_one_account(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.INFO)
    path = sample_site(tmp_path, feed_server)
    run_bot("poll", "--config", str(path))
    assert run_bot("hold", "console", "--by", "سارة", "--reason", "حملة انتخابية", "--config", str(path)).code == 0
    assert "HELD: held by سارة: حملة انتخابية" in run_bot("status", "--config", str(path)).out
    assert run_bot("release", "console", "--by", "سارة", "--config", str(path)).out.strip() == "console: released"
    assert "account=console released by سارة" in caplog.text
    checked = run_bot("check", "--account", "console", "--config", str(path))
    assert checked.code == 0 and checked.out.startswith("console (console): ok")
    assert run_bot("check", "--account", "nobody", "--config", str(path)).code == 2


def test_a_dotenv_others_can_read_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from bot.config import load_config

    (tmp_path / "bot.yaml").write_text(
        "site: {name: قريش, url: https://news.example}\nfeeds: [{id: main, url: 'https://news.example/?feed=rss2'}]\n"
        "accounts: [{id: c, platform: console}]\n", encoding="utf-8")
    env = tmp_path / ".env"
    env.write_text("X_API_KEY=secret\n")
    env.chmod(0o600)
    load_config(tmp_path / "bot.yaml", environ={})
    assert "can be read by every user" not in caplog.text
    env.chmod(0o644)
    load_config(tmp_path / "bot.yaml", environ={})
    assert f"{env} can be read by every user of this machine" in caplog.text


def test_heroku_installs_this_project_from_requirements_txt() -> None:
    """Heroku's Python buildpack reads requirements.txt: it must install this project (and so its
    dependencies from pyproject.toml), and the Procfile must run the daemon."""
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert [line for line in lines if line and not line.startswith("#")] == ["."]
    assert (ROOT / "Procfile").read_text().strip() == "worker: bot run"
    assert "BOT_CONFIG=config/site.yaml" in (ROOT / "README.md").read_text()


def test_an_upgraded_bot_does_not_start_on_an_empty_database_beside_the_config(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Its database is where relative paths used to lead (the working directory): it says where to move it."""
    site = site_folder(tmp_path, feed_server)
    work = tmp_path / "work"
    (work / "var").mkdir(parents=True)
    (work / "var" / "bot.sqlite3").write_bytes(b"")  # the database it used, in its working directory
    monkeypatch.chdir(work)
    assert run_bot("poll", "--config", "../site/bot.yaml").code == 2
    err = capsys.readouterr().err
    assert f"this bot's database is {work / 'var' / 'bot.sqlite3'}" in err and "move it there" in err
    assert not (site / "var").exists()


def test_commands_that_reach_no_platform_run_without_its_secrets(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """An operator reading the state (or holding an account) on a machine without the secrets file: status,
    hold, release, skip, preview and migrate work; what sends, and the daemon, still say what is missing."""
    tg = account(telegram, "tg", bot_token="${TG_TOKEN}")
    path = sample_site(tmp_path, feed_server, accounts=[tg], feed={"backfill": 1})
    monkeypatch.setenv("TG_TOKEN", telegram.token)
    assert run_bot("poll", "--config", str(path)).code == 0 and len(telegram.messages) == 1
    monkeypatch.delenv("TG_TOKEN")
    status = run_bot("status", "--config", str(path))
    assert status.code == 0 and "tg" in status.out and "sent" in status.out
    assert run_bot("hold", "tg", "--config", str(path)).code == 0
    assert run_bot("release", "tg", "--config", str(path)).code == 0
    assert run_bot("preview", "--config", str(path)).code == 0
    assert run_bot("migrate", "--config", str(path)).code == 0
    monkeypatch.setenv("TG_TOKEN", "")  # set but empty: the same
    assert run_bot("status", "--config", str(path)).code == 0
    capsys.readouterr()
    for sending in (("poll",), ("retry", "1"), ("unpost", "1"), ("check",), ("config", "check")):
        assert run_bot(*sending, "--config", str(path)).code == 2, sending
        assert "$TG_TOKEN is set but empty" in capsys.readouterr().err, sending
    monkeypatch.delenv("TG_TOKEN")
    assert run_bot("poll", "--config", str(path)).code == 2
    assert "accounts[0].bot_token: environment variable TG_TOKEN is not set" in capsys.readouterr().err
    assert len(telegram.messages) == 1


def test_only_secrets_may_be_missing_for_reading_commands(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.config import load_config
    from bot.errors import BotError

    monkeypatch.delenv("TG_CHAT", raising=False)
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg", chat_id="${TG_CHAT}")])
    assert run_bot("status", "--config", str(path)).code == 2  # the chat is not a secret: it says where to post
    assert "environment variable TG_CHAT is not set" in capsys.readouterr().err
    monkeypatch.delenv("TG_TOKEN", raising=False)
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg", bot_token="${TG_TOKEN}")])
    config = load_config(path, secrets=False)
    assert config.unset_secrets() == ["tg"] and config.secrets() == []
    bot = Bot.open(config)
    try:
        with pytest.raises(BotError, match="the secrets of tg are not set"):
            bot.dispatch()  # nothing ever sends with a stand-in
    finally:
        bot.close()


def test_reading_commands_need_no_alert_secret_either_and_an_empty_one_is_named(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("HOOK", raising=False)
    path = sample_site(tmp_path, feed_server, alerts={"channels": [{"type": "webhook", "url": "${HOOK}"}]})
    assert run_bot("migrate", "--config", str(path)).code == 0
    assert run_bot("status", "--config", str(path)).code == 0 and run_bot("hold", "console", "--config",
                                                                         str(path)).code == 0
    capsys.readouterr()
    assert run_bot("poll", "--config", str(path)).code == 2  # it would send alerts
    assert "alerts.channels[0].url: environment variable HOOK is not set" in capsys.readouterr().err
    monkeypatch.setenv("HOOK", "")
    assert run_bot("config", "check", "--config", str(path)).code == 2
    assert "alerts.channels[0].url: $HOOK is set but empty" in capsys.readouterr().err


def test_an_account_enabled_0_is_off_and_may_leave_its_secrets_unset(tmp_path: Path, feed_server: FeedServer,
                                                                      telegram: FakeTelegram) -> None:
    from bot.config import load_config

    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg", enabled=0, bot_token="${NOPE}")])
    config = load_config(path, environ={})
    assert not config.accounts[0].enabled and config.unset_secrets() == ["tg"]


def test_a_feed_address_with_a_login_or_a_token_is_redacted_like_a_secret(tmp_path: Path) -> None:
    from bot.config import load_config

    path = write_config(tmp_path, feeds=[{"id": "main", "url": "https://bot:s3cr3t-pw@news.example/feed?token=ab%2Bcd"
                                          "&feed=rss2"}])
    secrets = load_config(path, environ={}).secrets()
    assert "s3cr3t-pw" in secrets and "ab%2Bcd" in secrets and "ab+cd" in secrets and "rss2" not in secrets
