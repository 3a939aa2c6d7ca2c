"""The daemon: an APScheduler job per feed, a dispatch job, the small HTTP side, live reload, clean stop.

Polls run at each feed's interval (with jitter, missed runs coalesced) and on a WordPress ping. A feed is
never polled twice at once: a ping (or a due poll) while the feed is being polled makes exactly one more
poll right after. A poll that queues deliveries wakes the dispatcher at once. SIGHUP, or a change of the
config file, reloads the config: a valid one replaces the old without a restart, an invalid one is logged
and the old one keeps running. On SIGTERM or SIGINT the current send is finished, nothing new starts, and
the process exits within ``STOP_GRACE`` seconds.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bot.core import Bot
from bot.errors import BotError, ConfigError, UsageError
from bot.logs import redact_also
from bot.metrics import Metrics, NoMetrics

if TYPE_CHECKING:
    from bot.web.notice import Notice

log = logging.getLogger("bot.daemon")

#: Seconds to wait for running jobs after a stop signal before exiting anyway (state is always committed).
STOP_GRACE = 8.0
#: Seconds after a ping that found nothing new before the feed is looked at once more.
PING_RECHECK = 3.0
#: How often the config file is checked for changes.
WATCH_SECONDS = 2.0


def _port(value: str) -> int:
    """``$PORT`` as a port number, or a one-line UsageError naming it."""
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) < 65536:
        raise UsageError(f"$PORT is {value!r}: it must be a port number from 1 to 65535")
    return int(value)


class Daemon:
    """The running daemon: a poll job per feed, the dispatch job, retention, the HTTP side, reload on SIGHUP
    or a changed config file, and a clean stop on SIGTERM or SIGINT. ``run`` blocks until stopped."""

    def __init__(self, bot: Bot, config_path: Path | None = None) -> None:
        self.bot = bot
        self.config_path = config_path
        self.stop = threading.Event()
        self._dispatching = threading.Lock()
        self._again = threading.Event()
        self._active = 0
        self._active_cv = threading.Condition()
        self._scheduler: Any = None
        self._polls_guard = threading.Lock()
        self._polling: set[str] = set()
        self._poll_again: set[str] = set()
        self._polled_once: set[str] = set()
        self._reload = threading.Event()
        self._held: set[str] = set()  #: the accounts held at the last dispatch pass
        self._releasing = threading.Event()  #: an account was released: reload before dispatching again
        self._config_mtime = self._mtime()
        self.metrics: Metrics | NoMetrics = NoMetrics()  # real ones when the HTTP side starts
        self.web: Any = None

    # Jobs.

    def _tracked(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            if self.stop.is_set():
                return
            with self._active_cv:
                self._active += 1
            try:
                fn()
            except Exception:
                log.exception("a scheduled job failed; it runs again at its next time")
            finally:
                with self._active_cv:
                    self._active -= 1
                    self._active_cv.notify_all()
        return run

    def poll_job(self, feed_id: str, force: bool = False, scheduled: bool = False, ping: bool = False) -> None:
        """Poll a feed, never twice at once: asked while it runs, it runs exactly once more after.
        ``force`` (a ping: the site says it has news) polls a feed that is backing off after errors too.
        A ``scheduled`` poll after the first is skipped when another replica polled the feed lately."""
        with self._polls_guard:
            if feed_id in self._polling:
                self._poll_again.add(feed_id)
                return
            self._polling.add(feed_id)
            scheduled = scheduled and feed_id in self._polled_once
        try:
            while not self.stop.is_set():
                result = self.bot.poll(feed_id, stop=self.stop, force=force, scheduled=scheduled)
                scheduled = False  # a poll asked for while this one ran is not a scheduled one
                self._polled_once.add(feed_id)
                self.metrics.count(self.metrics.polls, feed_id, result.status)
                if result.status == "error":
                    self.metrics.count(self.metrics.fetch_errors, feed_id)
                self.metrics.count(self.metrics.new_articles, feed_id, by=result.new)
                if result.queued:
                    self.dispatch_job()
                if ping and result.status in ("not_modified", "unchanged"):
                    self._recheck(feed_id)  # the news may be in the same second as what the feed showed last
                ping = False
                with self._polls_guard:
                    if feed_id not in self._poll_again:
                        break
                    self._poll_again.discard(feed_id)
        finally:
            with self._polls_guard:
                self._polling.discard(feed_id)

    def dispatch_job(self) -> None:
        """Send what is due. If a dispatch is already running, it runs once more when done."""
        self._again.set()
        while not self.stop.is_set() and self._again.is_set():
            if not self._dispatching.acquire(blocking=False):
                return  # the running dispatch sees _again and loops
            try:
                self._again.clear()
                if not self._no_release():
                    return
                for outcome in self.bot.dispatch(stop=self.stop):
                    self.metrics.count(self.metrics.deliveries, outcome.account_id, outcome.status)
                    if outcome.status == "held":  # held in this pass: its release must be noticed too
                        self._held.add(outcome.account_id)
            finally:
                self._dispatching.release()

    def retract_job(self) -> None:
        """Ask the site whether the articles posted lately still stand; send what their withdrawal owes."""
        if self.bot.retractions.check():
            self.dispatch_job()

    def alert_job(self) -> None:
        """Tell operators what began or ended since the last look (``alerts:``)."""
        self.bot.alert(stop=self.stop)

    def _no_release(self) -> bool:
        """Whether this dispatch pass may go on: an account released since the last pass (``bot release``, from
        any process) is posted to only after a reload, with its credentials as they are now (the config and
        its environment files read again), not the ones it was held for. Asked at every pass (one small query),
        so a hold and release while nothing waited is seen too; no pass runs until that reload has happened."""
        if self._releasing.is_set():
            return False
        held = self.bot.store.held_accounts()
        released, self._held = self._held - held, held
        if not released:
            return True
        log.info("account(s) %s released: reloading the config and its credentials before posting",
                 ", ".join(sorted(released)))
        self._releasing.set()  # no dispatch pass until the main loop has reloaded
        self._reload.set()
        return False

    def ping(self) -> None:
        """WordPress says something was published: poll every feed now (coalesced), then dispatch."""
        if self._scheduler is None or self.stop.is_set():
            return
        for feed in self.bot.config.feeds:
            self._soon(functools.partial(self.poll_job, feed.id, True, ping=True), f"ping poll {feed.id}")

    def notice(self, notice: Notice) -> None:
        """The companion plugin says a post changed: poll now (a ping); an edit (or a publish of a post already
        known) has its editor's say read again first, a withdrawal (unpublish, trash, delete) or a publish again
        is applied to the article's posts (:mod:`bot.retract`), then the outbox is sent (in the background: the
        plugin gets its answer at once)."""
        if self._scheduler is None or self.stop.is_set():
            return

        def apply() -> None:
            changed = self.bot.retractions.notice(notice.event, notice.post_id, notice.url, notice.site)
            if changed + self.bot.say.notice(notice.event, notice.post_id, notice.url):
                self.dispatch_job()

        self._soon(apply, f"notice {notice.event} {notice.post_id}")
        self.ping()

    def _soon(self, fn: Callable[[], None], name: str) -> None:
        self._scheduler.add_job(self._tracked(fn), "date", run_date=datetime.now(UTC), name=name)

    def _recheck(self, feed_id: str) -> None:
        """A ping found nothing new: look once more a little later. WordPress's validators are whole seconds,
        so an article published in the same second as the last one may not show yet."""
        if self._scheduler is None or self.stop.is_set():
            return
        self._scheduler.add_job(self._tracked(functools.partial(self.poll_job, feed_id, True)), "date",
                                run_date=datetime.now(UTC) + timedelta(seconds=PING_RECHECK),
                                name=f"ping recheck {feed_id}")

    # Health.

    def health(self) -> tuple[bool, dict[str, Any]]:
        problems: list[str] = []
        running = bool(self._scheduler is not None and self._scheduler.running and not self.stop.is_set())
        if not running:
            problems.append("the scheduler is not running")
        bot = self.bot
        try:
            with bot.store.engine.connect() as c:
                c.execute(sa.text("SELECT 1"))
            store_ok = True
        except Exception as exc:  # the store is down: say so, whatever the driver raised
            store_ok = False
            problems.append(f"the store does not answer: {type(exc).__name__}")
        after = bot.config.unhealthy_after
        if store_ok:
            configured = {f.id for f in bot.config.feeds}
            for state in bot.store.feed_states():
                if state.id in configured and state.failures >= after:
                    problems.append(f"feed {state.id} has failed {state.failures} polls in a row: {state.last_error}")
            for account in bot.config.accounts:
                held = bot.store.account_state(account.id)
                if held.held:
                    problems.append(f"account {account.id} is held: {held.held_reason}")
        return not problems, {"ok": not problems, "scheduler": running, "store": store_ok, "problems": problems}

    # Reload.

    def _mtime(self) -> float | None:
        try:
            return self.config_path.stat().st_mtime if self.config_path else None
        except OSError:
            return None

    def reload(self) -> bool:
        """Load the config again; a valid one replaces the old (jobs rescheduled), an invalid one is logged."""
        from bot.config import load_config

        if self.config_path is None:
            return False
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            log.error("the new config is not valid; the old one keeps running:\n%s", exc.render())
            return False
        redact_also(config.secrets())  # before anything of the new config can be logged
        old = self.bot
        self.bot = Bot(config, old.store, old.clock, old._stream)
        self._schedule(old_feeds={f.id: f for f in old.config.feeds})
        self.metrics.forget({f.id for f in config.feeds}, {a.id for a in config.accounts})
        log.info("config reloaded: %d feed(s), %d account(s)", len(config.feeds), len(config.accounts))
        return True

    # Life cycle.

    def _schedule(self, old_feeds: dict[str, Any] | None = None) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        config = self.bot.config
        now = datetime.now(UTC)
        wanted = {f.id: f for f in config.feeds}
        for job in self._scheduler.get_jobs():
            if job.id.startswith("poll:") and job.id[5:] not in wanted:
                job.remove()
        for i, feed in enumerate(config.feeds):
            seconds = feed.interval.total_seconds()
            trigger = IntervalTrigger(seconds=seconds, jitter=min(30.0, seconds * 0.1), timezone=UTC)
            job_id = f"poll:{feed.id}"
            if old_feeds is not None and feed.id in old_feeds:
                if old_feeds[feed.id].interval != feed.interval:
                    self._scheduler.reschedule_job(job_id, trigger=trigger)
                continue
            self._scheduler.add_job(
                self._tracked(functools.partial(self.poll_job, feed.id, scheduled=True)), trigger, id=job_id,
                name=f"poll {feed.id}",
                next_run_time=now + timedelta(milliseconds=50 * i),  # first poll right away, staggered
                replace_existing=True,
            )
        if self._scheduler.get_job("prune") is None:
            self._scheduler.add_job(self._tracked(lambda: self.bot.prune() and None),
                                    IntervalTrigger(hours=6, timezone=UTC), id="prune", name="retention",
                                    next_run_time=now + timedelta(minutes=1))
        # Alerts on their own job (their own thread): a slow or failing channel never holds up posting. Without
        # alerts:, the job still asks (and refreshes) the tokens the bot refreshes itself, hourly.
        alerting = config.alerts is not None or config.refreshes_tokens()
        self._periodic("alerts", (config.alerts.interval if config.alerts else timedelta(hours=1)) if alerting
                       else None, self.alert_job, now + timedelta(seconds=5))
        # Retractions: the REST API asked, now and then, whether the articles posted lately still stand.
        self._periodic("retractions", config.site.retract_check if config.site.wordpress_api else None,
                       self.retract_job, now + timedelta(seconds=30))
        self._periodic("dispatch", config.dispatch_interval, self.dispatch_job, now)

    def _periodic(self, job_id: str, every: timedelta | None, fn: Callable[[], None], first: datetime) -> None:
        """Run ``fn`` every ``every`` (first at ``first``) as the job ``job_id``, or at its new interval after a
        reload; None or 0: not at all."""
        from apscheduler.triggers.interval import IntervalTrigger

        job = self._scheduler.get_job(job_id)
        if not every:
            if job is not None:
                self._scheduler.remove_job(job_id)
            return
        trigger = IntervalTrigger(seconds=every.total_seconds(), timezone=UTC)
        if job is None:
            self._scheduler.add_job(self._tracked(fn), trigger, id=job_id, name=job_id, next_run_time=first)
        else:
            self._scheduler.reschedule_job(job_id, trigger=trigger)

    def _warm_up(self) -> None:
        """Import the heavy libraries and build the publishers now, so the first news is not the slow one."""
        import feedparser  # noqa: F401

        from bot.compose.length import count_x

        count_x("warm-up https://example.com")
        self.bot.publishers  # noqa: B018

    def _console(self) -> Any:
        """The newsroom console over this daemon's bot: it follows reloads (a ``console:`` section added or
        removed turns it on or off; without one its pages answer 404)."""
        from bot.operations import Operations
        from bot.web.console import Console

        return Console(lambda: Operations(self.bot, wake=self.wake_dispatch))

    def wake_dispatch(self) -> None:
        """Dispatch now, in the daemon's own job (the console's sends: one sender in this process, and none
        before a release's reload)."""
        if self._scheduler is not None and self._scheduler.running and not self.stop.is_set():
            self._soon(self.dispatch_job, "dispatch for the console")

    def _hosted_image(self, key: str) -> tuple[bytes, str] | None:
        """An image hosted for a platform that fetches it (``GET /media/…``), while it lasts; none at all while
        the config gives no ``server.public_url``."""
        server = self.bot.config.server
        if server is None or not server.public_url:
            return None
        return self.bot.store.hosted_image(key, self.bot.clock.now())

    def start(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        config = self.bot.config
        workers = min(16, len(config.feeds) + 3)
        self._scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.bot.store.hold_exclusive()  # one daemon per SQLite file: a second one stops here
        server = config.server
        port = os.environ.get("PORT")
        token: str | None = None
        if server is not None or port or config.console is not None:
            from bot.web import WebSide
            from bot.web.app import Hooks, build_app

            self.metrics = Metrics(self)  # before the first poll, which it counts
            host = server.host if server else "0.0.0.0"
            listen = _port(port) if port else (server.port if server else 8080)  # $PORT wins (Heroku's web dyno)
            token = server.ping_token.get_secret_value() if server and server.ping_token else \
                os.environ.get("BOT_PING_TOKEN")
            metrics_token = server.metrics_token.get_secret_value() if server and server.metrics_token else None
            plugin = server.plugin_secret.get_secret_value() if server and server.plugin_secret else None
            app = build_app(Hooks(self.health, self.metrics.render, self.ping, lambda: metrics_token,
                                  self._hosted_image, lambda: plugin, self.notice,
                                  lambda post_id, url: self.bot.say.status(post_id, url)), self._console())
            try:  # before anything starts: a port that cannot be had is a person's mistake, said in one line
                self.web = WebSide(host, listen, app, lambda: token,
                                   forwarded_allow_ips=server.trusted_proxies if server else "127.0.0.1",
                                   plugin_secret=lambda: plugin)
            except OSError as exc:
                setting = "$PORT" if port else "server.port"
                raise UsageError(f"cannot listen on {host}:{listen} ({setting}): {exc.strerror or exc}") from exc
        self._warm_up()
        self._scheduler.start(paused=True)
        self._schedule()
        self._scheduler.resume()
        if self.web is not None:
            self.web.start()
            log.info("listening on %s:%d (ping %s, /healthz, /metrics, console %s)", self.web.address, self.web.port,
                     "on" if token else "off: set server.ping_token",
                     "on" if self.bot.config.console else "off: set console.secret_key")

    def shutdown(self, grace: float = STOP_GRACE) -> bool:
        """Stop scheduling, let running jobs finish for up to ``grace`` seconds. True if they all did."""
        self.stop.set()
        if self.web is not None:
            self.web.stop()
        if self._scheduler is not None and self._scheduler.running:  # not running: start() failed
            self._scheduler.shutdown(wait=False)
        deadline = time.monotonic() + grace
        with self._active_cv:
            while self._active and (left := deadline - time.monotonic()) > 0:
                self._active_cv.wait(left)
            return self._active == 0

    def run(self) -> int:
        """Run until SIGTERM or SIGINT. Returns the exit status."""
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if self.stop.is_set():
                return
            log.info("received %s: finishing the current send, then stopping", signal.Signals(signum).name)
            self.stop.set()

        def on_hup(_signum: int, _frame: FrameType | None) -> None:
            self._reload.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)
        try:
            config = self.bot.config
            self.start()
            log.info("bot running: site %s, %d feed(s), %d account(s), database %s; stop with Ctrl-C or SIGTERM, "
                     "reload with SIGHUP", config.site.name, len(config.feeds), len(config.accounts),
                     self.bot.store.shown)
            watched = time.monotonic()
            while not self.stop.wait(0.5):
                if time.monotonic() - watched >= WATCH_SECONDS:
                    watched = time.monotonic()
                    mtime = self._mtime()
                    if mtime != self._config_mtime:
                        self._config_mtime = mtime
                        log.info("the config file changed: reloading")
                        self._reload.set()
                if self._reload.is_set():
                    self._reload.clear()
                    try:
                        self.reload()
                    except BotError as exc:
                        log.error("reload failed, the old config keeps running: %s", exc)
                    self._releasing.clear()
                    if self._scheduler is not None and not self.stop.is_set():
                        self._soon(self.dispatch_job, "dispatch after reload")
        finally:
            clean = self.shutdown()
            for s, h in previous.items():
                signal.signal(s, h)
        if not clean:
            log.warning("a job was still running %.0fs after the stop signal; exiting anyway "
                        "(its work is committed or will be redone)", STOP_GRACE)
            logging.shutdown()
            os._exit(0)
        self.bot.close()
        log.info("bot stopped")
        return 0
