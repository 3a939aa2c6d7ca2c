"""Alerts: operators are told once when a problem begins and once when it ends, on a Telegram chat, by email and
on a webhook (local servers answering as the real ones do); a failing channel never stops posting."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.store import Problem

from .kit.configs import account, sample_site
from .kit.fake_alerts import FakeSMTP, FakeWebhook
from .kit.fake_facebook import FakeFacebook
from .kit.fake_telegram import FakeTelegram
from .kit.runs import Run
from .kit.servers import Answer, FeedServer


def channels(desk: FakeTelegram, smtp: FakeSMTP, webhook: FakeWebhook) -> list[dict[str, Any]]:
    return [{"type": "telegram", "bot_token": desk.token, "chat_id": str(desk.chat_id), "base_url": desk.base},
            smtp.channel(), {"type": "webhook", "url": webhook.address}]


def told(desk: FakeTelegram, smtp: FakeSMTP, webhook: FakeWebhook) -> list[tuple[str, str, str]]:
    """What each channel has been told, as (telegram text, email subject, webhook event + problem)."""
    n = len(desk.messages)
    assert len(smtp.messages) == n and len(webhook.received) == n, (desk.messages, smtp.messages, webhook.received)
    return [(d["text"], str(m["Subject"]), f"{w['event']} {w['problem']}")
            for d, m, w in zip(desk.messages, smtp.messages, webhook.received, strict=True)]


def test_a_held_account_is_told_once_on_every_channel_and_again_when_released(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, desk: FakeTelegram, smtp: FakeSMTP,
    webhook: FakeWebhook, run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    tg = account(telegram, "tg", bot_token="123456:AA-revoked")  # the channel's bot token was revoked
    path = sample_site(tmp_path, feed_server, accounts=[tg], feed={"backfill": 1},
                       alerts={"channels": channels(desk, smtp, webhook)})
    assert run_bot("poll", "--config", str(path)).code == 0  # the post waits: the account is held
    [(text, subject, event)] = told(desk, smtp, webhook)
    assert text.startswith("⚠️ قريش — account tg (telegram) is held: ") and "bot release tg" in text
    assert "Unauthorized" in text and "123456:AA-revoked" not in text  # the platform's words; never the token
    # The subject is the first sentence; the body says what to do and when it began, in the site's time.
    assert subject == "⚠️ قريش: account tg (telegram) is held: Telegram refused the bot token (401: Unauthorized): " \
                      "check bot_token"
    assert text.endswith("release it (bot release tg)\n(2026-11-29 09:00 +0300; bot status says more)")
    assert event == "raised held:tg"
    assert webhook.received[0]["site"] == "قريش" and webhook.received[0]["at"].endswith("+03:00")
    assert smtp.mailbox.envelopes == [("bot@news.example", ["desk@news.example"])]
    for _ in range(3):  # every later look: still held, nothing told again
        clock.advance(timedelta(minutes=1))
        run_bot("poll", "--config", str(path))
    assert len(told(desk, smtp, webhook)) == 1

    # The token is fixed and the account released: told once that it is over, and the post goes out.
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg")], feed={"backfill": 1},
                       alerts={"channels": channels(desk, smtp, webhook)})
    assert run_bot("release", "tg", "--config", str(path)).code == 0
    assert run_bot("poll", "--config", str(path)).code == 0
    assert len(telegram.messages) == 1
    [_, (text, subject, event)] = told(desk, smtp, webhook)
    assert text.startswith("✅ قريش — account tg is released") and event == "cleared held:tg"
    run_bot("poll", "--config", str(path))
    assert len(told(desk, smtp, webhook)) == 2


def test_a_failing_channel_is_tried_again_alone_with_a_growing_pause(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, desk: FakeTelegram, smtp: FakeSMTP,
    webhook: FakeWebhook, run_bot: Callable[..., Run], clock: ManualClock, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg"), account(telegram, "tg2")],
                       feed={"backfill": 2}, alerts={"channels": channels(desk, smtp, webhook)})
    webhook.fail_next(FakeWebhook.PATH, Answer(500, {"error": "internal"}), n=5)
    smtp.mailbox.refuse_with = "451 4.3.0 Mail server temporarily rejected message"
    assert run_bot("migrate", "--config", str(path)).code == 0
    assert run_bot("hold", "tg2", "--reason", "حملة", "--config", str(path)).code == 0
    assert run_bot("poll", "--config", str(path)).code == 0
    assert len(telegram.messages) == 2  # tg posted both articles, whatever the alerts did
    assert len(desk.messages) == 1 and smtp.messages == [] and webhook.received == []
    assert "not told on email: the SMTP server 127.0.0.1 said 451" in caplog.text
    assert "not told on webhook: the webhook answered HTTP 500" in caplog.text and "secret-path" not in caplog.text
    run_bot("poll", "--config", str(path))  # not due again yet (a pause of a minute, then two, …)
    assert len(webhook.calls_to(FakeWebhook.PATH)) == 1
    smtp.mailbox.refuse_with = None
    clock.advance(timedelta(minutes=1, seconds=1))
    run_bot("poll", "--config", str(path))
    assert len(desk.messages) == 1 and len(smtp.messages) == 1 and webhook.received == []  # the webhook fails on
    webhook.faults.clear()
    clock.advance(timedelta(minutes=2, seconds=1))
    run_bot("poll", "--config", str(path))
    assert [e for _, _, e in told(desk, smtp, webhook)] == ["raised held:tg2"]


def test_an_unreachable_channel_is_given_up_and_said_in_the_log(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run],
    clock: ManualClock, caplog: pytest.LogCaptureFixture,
) -> None:
    from .kit.runs import free_port

    hook = {"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/hook", "timeout": "2s"}
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg"), account(telegram, "tg2")],
                       feed={"backfill": 1}, alerts={"channels": [hook], "give_up_after": "2m"})
    run_bot("migrate", "--config", str(path))
    assert run_bot("hold", "tg", "--config", str(path)).code == 0
    assert run_bot("poll", "--config", str(path)).code == 0
    assert "cannot reach the webhook: 127.0.0.1" in caplog.text and "refused the connection" in caplog.text
    clock.advance(timedelta(minutes=1, seconds=1))  # the next try (after a minute) fails too; the one after
    run_bot("poll", "--config", str(path))  # would be past give_up_after: given up now
    assert "alert held:tg (raised) given up on webhook after 2m: cannot reach the webhook" in caplog.text
    tries = len(caplog.records)
    clock.advance(timedelta(hours=1))
    run_bot("poll", "--config", str(path))
    assert "webhook" not in " ".join(r.getMessage() for r in caplog.records[tries:])  # given up: not tried again
    # News that is already older than give_up_after when first tried (the alerts were off) is not sent.
    bot = Bot.open(load_config(path), clock=clock)
    try:
        bot.store.hold_account("tg2", "held by سارة", clock.now() - timedelta(hours=1))
        bot.store.sync_alerts(lambda: {"held:tg2": Problem("held:tg2", "held", "tg2", "held", "released")},
                              clock.now() - timedelta(hours=1), ["webhook"], lambda key: True)
        bot.alert()
        assert "alert held:tg2 (raised) given up on webhook: it is older than give_up_after (2m)" in caplog.text
        assert bot.store.told_channels() == {}  # never told
    finally:
        bot.close()


def test_a_feed_failing_unhealthy_after_polls_is_told_and_its_recovery_too(
    tmp_path: Path, feed_server: FeedServer, webhook: FakeWebhook, run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    path = sample_site(tmp_path, feed_server, server={"unhealthy_after": 2, "port": 0},
                       alerts={"channels": [{"type": "webhook", "url": webhook.address}]})
    run_bot("poll", "--config", str(path))
    feed_server.set("/feed", "down", status=503)
    run_bot("poll", "--force", "--config", str(path))
    assert webhook.received == []  # one failure is not yet a problem
    run_bot("poll", "--force", "--config", str(path))
    [raised] = webhook.received
    assert raised["problem"] == "feed:main" and raised["kind"] == "feed" and raised["subject"] == "main"
    assert raised["text"].startswith("feed main failed 2 polls in a row: ") and "503" in raised["text"]
    run_bot("poll", "--force", "--config", str(path))
    assert len(webhook.received) == 1
    from .kit.wordpress import SAMPLE_ITEMS, rss2

    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    run_bot("poll", "--force", "--config", str(path))
    assert [(w["event"], w["problem"]) for w in webhook.received] == [("raised", "feed:main"), ("cleared", "feed:main")]
    assert webhook.received[1]["text"] == "feed main answers again"


def test_posts_in_doubt_are_told_with_their_numbers_and_cleared_when_settled(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, desk: FakeTelegram,
    run_bot: Callable[..., Run],
) -> None:
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg")], feed={"backfill": 1},
                       alerts={"channels": [{"type": "telegram", "bot_token": desk.token, "chat_id": "@qurays_desk",
                                             "base_url": desk.base}]})
    telegram.fail_next(f"/bot{telegram.token}/sendMessage", Answer(502, {"ok": False, "error_code": 502,
                                                                          "description": "Bad Gateway"}))
    assert run_bot("poll", "--config", str(path)).code == 1  # in doubt: said, and the exit status says it
    [alert] = desk.messages
    assert "1 post(s) on tg may or may not have gone out (#1)" in alert["text"] and "bot skip ID" in alert["text"]
    assert alert["link_preview_options"] == {"is_disabled": True}
    assert run_bot("skip", "1", "--config", str(path)).code == 0
    run_bot("poll", "--config", str(path))
    assert desk.messages[1]["text"].startswith("✅ قريش — no post on tg is in doubt any more")


def test_a_token_near_its_expiry_is_told_from_facebook_and_from_the_config(
    tmp_path: Path, feed_server: FeedServer, facebook: FakeFacebook, webhook: FakeWebhook,
    run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    facebook.expires_at = int((clock.now() + timedelta(days=30)).timestamp())
    facebook.data_access_expires_at = int((clock.now() + timedelta(days=3)).timestamp())  # the sooner counts
    soon = (clock.now() + timedelta(days=5)).date().isoformat()
    accounts = [account(facebook, "fb"), {"id": "c", "platform": "console", "output": str(tmp_path / "c.jsonl"),
                                          "token_expires": soon}]
    path = sample_site(tmp_path, feed_server, accounts=accounts,
                       alerts={"channels": [{"type": "webhook", "url": webhook.address}], "token_warning": "7d"})
    run_bot("poll", "--config", str(path))
    problems = {w["problem"]: w["text"] for w in webhook.received}
    assert set(problems) == {"token:fb", "token:c"}
    assert problems["token:fb"].startswith("the token of account fb (facebook) expires ")
    assert f"expires {soon} 00:00 +0300" in problems["token:c"]
    assert len(facebook.calls_to("/v26.0/debug_token")) == 1
    run_bot("poll", "--config", str(path))
    assert len(facebook.calls_to("/v26.0/debug_token")) == 1  # asked once a day, not at every look
    facebook.data_access_expires_at = 0  # a new token, put in the secrets file: it no longer expires soon
    clock.advance(timedelta(hours=25))
    run_bot("poll", "--config", str(path))
    assert len(facebook.calls_to("/v26.0/debug_token")) == 2
    assert [(w["event"], w["problem"]) for w in webhook.received][2:] == [("cleared", "token:fb")]


def test_email_goes_over_starttls_with_the_server_certificate_checked(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run],
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """The default, STARTTLS: the login and the message only after TLS, the certificate checked against the
    machine's trusted authorities (here a test authority, given by SSL_CERT_FILE)."""
    import ssl

    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    smtp = FakeSMTP(tls=context)
    try:
        path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg")],
                           alerts={"channels": [smtp.channel(security="starttls")]})
        run_bot("migrate", "--config", str(path))
        run_bot("hold", "tg", "--config", str(path))
        run_bot("poll", "--config", str(path))  # this machine does not trust the test authority: refused
        assert smtp.messages == [] and "CERTIFICATE_VERIFY_FAILED" in caplog.text
        pem = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(pem))
        monkeypatch.setenv("SSL_CERT_FILE", str(pem))
        clock.advance(timedelta(minutes=1, seconds=1))
        run_bot("poll", "--config", str(path))
        [message] = smtp.messages
        assert smtp.mailbox.over_tls == [True] and "account tg (telegram) is held" in str(message["Subject"])
        body = message.get_body()
        assert body is not None and "bot release tg" in body.get_content()
    finally:
        smtp.close()


def test_alert_config_mistakes_are_said(tmp_path: Path, feed_server: FeedServer) -> None:
    from bot.errors import ConfigError

    email = {"type": "email", "host": "smtp.example.com", "sender": "bot@example.com", "to": ["desk@example.com"]}
    for channels_, words in (
        ([{"type": "webhook", "url": "ftp://hooks/secret-path"}], "must be an http:// or https:// address"),
        ([{"type": "webhook", "url": "https://a.example/1"}, {"type": "webhook", "url": "https://a.example/2"}],
         "two channels are called 'webhook'"),
        ([{"type": "pager"}], "alerts.channels[0].type: unknown type 'pager'; allowed: telegram, email, webhook"),
        ([], "at least 1"),
        ([{"type": "telegram", "bot_token": "1:a", "chat_id": "qurays_desk"}], "must be @channelname"),
        ([{**email, "to": ["@"]}], "must be an email address such as desk@example.com"),
        ([{**email, "username": "bot"}], "username and password go together"),
        ([{**email, "username": "bot", "password": "p", "security": "none"}],
         "security: none would send the password to smtp.example.com unencrypted"),
        ([{"type": "webhook", "url": "https://a.example/1", "timeout": "2m"}], "must be at most 30s"),
    ):
        path = sample_site(tmp_path, feed_server, alerts={"channels": channels_})
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert words in info.value.render() and "secret-path" not in info.value.render(), info.value.render()
    path = sample_site(tmp_path, feed_server, alerts={"channels": [{"type": "webhook", "url": "https://a/1"}],
                                                     "interval": "1s"})
    with pytest.raises(ConfigError, match="must be at least 5s"):
        load_config(path)


def test_two_bots_on_one_database_tell_each_problem_once(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, webhook: FakeWebhook, clock: ManualClock,
    db_url: str,
) -> None:
    """A bot poll beside the daemon, or replicas: each beginning is told once, whoever looks first."""
    import threading

    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg")], database=db_url,
                       alerts={"channels": [{"type": "webhook", "url": webhook.address}]})
    bots = [Bot.open(load_config(path), clock=clock) for _ in range(2)]
    try:
        bots[0].store.hold_account("tg", "held by سارة", clock.now())
        start = threading.Barrier(2)

        def look(bot: Bot) -> None:
            start.wait()
            for _ in range(5):
                bot.alert()

        threads = [threading.Thread(target=look, args=(b,)) for b in bots]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert [w["problem"] for w in webhook.received] == ["held:tg"]
        bots[1].store.release_account("tg", clock.now())
        threads = [threading.Thread(target=look, args=(b,)) for b in bots]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert [(w["event"], w["problem"]) for w in webhook.received] == [("raised", "held:tg"), ("cleared", "held:tg")]
    finally:
        for b in bots:
            b.close()


@pytest.mark.slow
def test_the_daemon_tells_operators_and_a_hanging_channel_never_holds_up_posting(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, webhook: FakeWebhook,
) -> None:
    import signal

    from .kit.configs import posts
    from .kit.runs import bot_process, wait_for
    from .kit.wordpress import SAMPLE_ITEMS, Item, rss2

    webhook.fail_next(FakeWebhook.PATH, Answer(200, {"ok": True}), hang=14)  # the first alert hangs
    accounts = [{"id": "console", "platform": "console", "output": str(tmp_path / "posts.jsonl")},
                account(telegram, "tg", bot_token="123456:AA-revoked")]
    path = sample_site(tmp_path, feed_server, accounts, feed={"interval": "10s"}, dispatch_interval="1s",
                       alerts={"channels": [{"type": "webhook", "url": webhook.address, "timeout": "12s"}],
                               "interval": "5s"})
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        proc = bot_process("run", "--config", str(path), stderr=out, PYTHONUNBUFFERED="1")
        try:
            wait_for(lambda: "first_start=yes" in log.read_text(errors="replace"), what="the first poll")
            first = Item(960, "وزارة الصحة تطلق حملة تلقيح وطنية", ["صحة"])
            feed_server.set("/feed", rss2([first, *SAMPLE_ITEMS]))
            wait_for(lambda: webhook.arrived, timeout=40, what="the alert of the held account to reach the webhook")
            # The webhook has not answered (it hangs): posting goes on all the same.
            second = Item(961, "افتتاح معرض بغداد الدولي للكتاب", ["ثقافة"])
            feed_server.set("/feed", rss2([second, first, *SAMPLE_ITEMS]))
            wait_for(lambda: len(posts(tmp_path)) == 2, timeout=40, what="the second post while the webhook hangs")
            assert webhook.calls_to(FakeWebhook.PATH) == []  # still hanging
            assert "alert held:tg: raised" in log.read_text(errors="replace")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=40)


def test_each_channel_hears_a_problem_in_order_and_its_last_word_is_true(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, desk: FakeTelegram, webhook: FakeWebhook,
    run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    """The webhook missed "held" (it failed), and the account was released before its next try: the webhook is
    told neither (it never believed the account held); the chat, which heard "held", hears "released"."""
    chat = {"type": "telegram", "bot_token": desk.token, "chat_id": str(desk.chat_id), "base_url": desk.base}
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg")],
                       alerts={"channels": [chat, {"type": "webhook", "url": webhook.address}]})
    run_bot("migrate", "--config", str(path))
    run_bot("hold", "tg", "--config", str(path))
    webhook.fail_next(FakeWebhook.PATH, Answer(503, {"error": "down"}))
    run_bot("poll", "--config", str(path))
    assert len(desk.messages) == 1 and webhook.received == []
    run_bot("release", "tg", "--config", str(path))
    clock.advance(timedelta(minutes=5))
    run_bot("poll", "--config", str(path))
    assert [m["text"][:40] for m in desk.messages] == [desk.messages[0]["text"][:40], desk.messages[1]["text"][:40]]
    assert desk.messages[1]["text"].startswith("✅ قريش — account tg is released")
    assert webhook.received == []
    # And again the other way: a "released" the webhook missed, then held again: it hears nothing new.
    run_bot("hold", "tg", "--config", str(path))
    run_bot("poll", "--config", str(path))
    assert [w["event"] for w in webhook.received] == ["raised"]
    webhook.fail_next(FakeWebhook.PATH, Answer(503, {"error": "down"}))
    run_bot("release", "tg", "--config", str(path))
    run_bot("poll", "--config", str(path))
    run_bot("hold", "tg", "--config", str(path))
    clock.advance(timedelta(minutes=5))
    run_bot("poll", "--config", str(path))
    assert [w["event"] for w in webhook.received] == ["raised"]  # its last word, "held", is true
    assert [m["text"][:1] for m in desk.messages] == ["⚠", "✅", "⚠", "✅", "⚠"]


def test_a_slow_channel_never_lets_another_process_tell_the_same_message(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, webhook: FakeWebhook, clock: ManualClock,
    db_url: str,
) -> None:
    """Messages are claimed one at a time, for longer than their channels' timeouts: a second process (a bot
    poll beside the daemon, a replica) passes by what the first is slowly sending."""
    import threading

    accounts = [account(telegram, f"tg{i}") for i in range(4)]
    path = sample_site(tmp_path, feed_server, accounts=accounts, database=db_url,
                       alerts={"channels": [{"type": "webhook", "url": webhook.address, "timeout": "5s"}]})
    bots = [Bot.open(load_config(path), clock=clock) for _ in range(2)]
    try:
        for i in range(4):
            bots[0].store.hold_account(f"tg{i}", "held by سارة", clock.now())
        webhook.answer_late(FakeWebhook.PATH, after=1.5, n=2)  # slow, not failing: it takes each message
        threads = [threading.Thread(target=b.alert) for b in bots]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(w["problem"] for w in webhook.received) == [f"held:tg{i}" for i in range(4)]
    finally:
        for b in bots:
            b.close()


def test_a_problem_whose_account_or_feed_left_the_config_ends_without_a_word(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, webhook: FakeWebhook,
    run_bot: Callable[..., Run], clock: ManualClock, caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.INFO)
    alerts = {"channels": [{"type": "webhook", "url": webhook.address}]}
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg")], alerts=alerts,
                       server={"unhealthy_after": 1, "port": 0})
    run_bot("migrate", "--config", str(path))
    run_bot("hold", "tg", "--config", str(path))
    feed_server.set("/feed", "down", status=503)
    run_bot("poll", "--config", str(path))
    assert sorted(w["problem"] for w in webhook.received) == ["feed:main", "held:tg"]
    # The held account is disabled, the failing feed replaced by another: neither is "fixed".
    from .kit.wordpress import SAMPLE_ITEMS, rss2

    feed_server.set("/other", rss2(SAMPLE_ITEMS))
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg", enabled=False)], alerts=alerts,
                       server={"unhealthy_after": 1, "port": 0}, feed={"id": "other", "url": feed_server.url("/other")})
    run_bot("poll", "--config", str(path))
    assert len(webhook.received) == 2  # no "released", no "answers again"
    assert "alert held:tg: closed" in caplog.text and "alert feed:main: closed" in caplog.text


def test_email_over_implicit_tls_and_what_an_smtp_server_says_after_taking_the_message(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """``security: ssl`` (port 465): TLS from the first byte, the certificate checked. A newline in a hold
    reason does not break the Subject line, and a server that says something odd to QUIT after it took the
    message does not get it again."""
    import ssl

    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    monkeypatch.setenv("SSL_CERT_FILE", str(pem))
    smtp = FakeSMTP(implicit_tls=context, quit_reply="250 bye")
    try:
        path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg")],
                           alerts={"channels": [smtp.channel(security="ssl")]})
        run_bot("migrate", "--config", str(path))
        run_bot("hold", "tg", "--reason", "حملة\nانتخابية", "--config", str(path))
        run_bot("poll", "--config", str(path))
        [message] = smtp.messages
        assert smtp.mailbox.over_tls == [True]
        subject = str(message["Subject"])
        assert subject.startswith("⚠️ قريش: account tg (telegram) is held: held by ") and "\n" not in subject
        assert subject.endswith(": حملة انتخابية")  # the reason's new line is a space in the Subject
        run_bot("poll", "--config", str(path))
        assert len(smtp.messages) == 1 and "not told on email" not in caplog.text
    finally:
        smtp.close()


def test_no_secret_leaves_in_an_alert_and_unpost_never_uses_a_stand_in(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, webhook: FakeWebhook,
    run_bot: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg")], feed={"backfill": 1},
                       alerts={"channels": [{"type": "webhook", "url": webhook.address}]})
    run_bot("poll", "--config", str(path))
    assert len(telegram.messages) == 1
    run_bot("hold", "tg", "--reason", f"the token {telegram.token} was pasted in the chat", "--config", str(path))
    run_bot("poll", "--config", str(path))
    [alert] = webhook.received
    assert telegram.token not in alert["text"] and "the token *** was pasted" in alert["text"]
    # The account turned off, its token gone from the environment: unpost says so, and sends no stand-in.
    monkeypatch.delenv("TG_TOKEN", raising=False)
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg", enabled=False,
                                                                bot_token="${TG_TOKEN}")],
                       feed={"backfill": 1})
    capsys.readouterr()
    assert run_bot("unpost", "1", "--config", str(path)).code == 2
    assert "account tg's secrets are not set" in capsys.readouterr().err
    assert len(telegram.messages) == 1 and telegram.calls_to(f"/bot{telegram.token}/deleteMessage") == []


def test_what_slack_and_discord_are_sent_pings_no_one() -> None:
    from datetime import UTC, datetime

    from bot.alerts.channels import Notice, WebhookAlerts
    from bot.config.alerts import WebhookChannel

    notice = Notice("قريش", "raised", "feed:main", "feed main failed 3 polls in a row: HTTP 503 <!channel> "
                    "@everyone & <https://evil.example|click>", datetime(2026, 11, 29, 9, tzinfo=UTC))
    slack = WebhookAlerts(WebhookChannel(type="webhook", url="https://hooks.slack.com/x", format="slack"), "bot")
    discord = WebhookAlerts(WebhookChannel(type="webhook", url="https://discord.com/api/webhooks/x",
                                           format="discord"), "bot")
    try:
        said = slack.payload(notice)["text"]
        assert "<!channel>" not in said and "&lt;!channel&gt;" in said and "&amp;" in said and "<https" not in said
        sent = discord.payload(notice)
        assert sent["allowed_mentions"] == {"parse": []} and len(sent["content"]) <= 2000
    finally:
        slack.close()
        discord.close()


def test_a_channel_added_later_hears_of_open_problems_only(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, desk: FakeTelegram, webhook: FakeWebhook,
    run_bot: Callable[..., Run],
) -> None:
    chat = {"type": "telegram", "bot_token": desk.token, "chat_id": str(desk.chat_id), "base_url": desk.base}
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg"), account(telegram, "tg2")],
                       alerts={"channels": [chat]})
    run_bot("migrate", "--config", str(path))
    run_bot("hold", "tg", "--config", str(path))
    run_bot("hold", "tg2", "--config", str(path))
    run_bot("poll", "--config", str(path))
    run_bot("release", "tg2", "--config", str(path))
    run_bot("poll", "--config", str(path))
    assert len(desk.messages) == 3  # tg held, tg2 held, tg2 released
    path = sample_site(tmp_path, feed_server, accounts=[account(telegram, "tg"), account(telegram, "tg2")],
                       alerts={"channels": [chat, {"type": "webhook", "url": webhook.address}]})
    run_bot("poll", "--config", str(path))
    assert [(w["event"], w["problem"]) for w in webhook.received] == [("raised", "held:tg")]  # open now; tg2's
    assert len(desk.messages) == 3  # story is over, and the chat is not told anything again


def test_bot_poll_says_when_the_look_for_problems_itself_failed(
    tmp_path: Path, feed_server: FeedServer, webhook: FakeWebhook, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sqlalchemy as sa

    path = sample_site(tmp_path, feed_server, alerts={"channels": [{"type": "webhook", "url": webhook.address}]})
    assert run_bot("poll", "--config", str(path)).code == 0
    run_bot("hold", "console", "--config", str(path))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    with engine.begin() as c:  # the database refuses to record a problem
        c.execute(sa.text("CREATE TRIGGER broken BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'disk'); END"))
    engine.dispose()
    capsys.readouterr()
    assert run_bot("poll", "--config", str(path)).code == 1
    assert "bot: alerts: " in capsys.readouterr().err
