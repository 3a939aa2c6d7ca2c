"""The daemon: an APScheduler job per feed, a dispatch job, and a clean stop on SIGTERM/SIGINT.

Polls run at each feed's interval (with jitter, never two at once for a feed, missed runs coalesced);
a poll that queues deliveries wakes the dispatcher at once. On SIGTERM or SIGINT the current send is
finished, nothing new starts, and the process exits within ``STOP_GRACE`` seconds.
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
from types import FrameType
from typing import Any

from bot.core import Bot

log = logging.getLogger("bot.daemon")

#: Seconds to wait for running jobs after a stop signal before exiting anyway (state is always committed).
STOP_GRACE = 8.0


class Daemon:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.stop = threading.Event()
        self._dispatching = threading.Lock()
        self._again = threading.Event()
        self._active = 0
        self._active_cv = threading.Condition()
        self._scheduler: Any = None

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

    def poll_job(self, feed_id: str) -> None:
        result = self.bot.poll(feed_id, stop=self.stop)
        if result.queued:
            self.dispatch_job()

    def dispatch_job(self) -> None:
        """Send what is due. If a dispatch is already running, it runs once more when done."""
        self._again.set()
        while not self.stop.is_set() and self._again.is_set():
            if not self._dispatching.acquire(blocking=False):
                return  # the running dispatch sees _again and loops
            try:
                self._again.clear()
                self.bot.dispatch(stop=self.stop)
            finally:
                self._dispatching.release()

    # Life cycle.

    def start(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        config = self.bot.config
        workers = min(16, len(config.feeds) + 2)
        scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        now = datetime.now(UTC)
        for i, feed in enumerate(config.feeds):
            seconds = feed.interval.total_seconds()
            scheduler.add_job(
                self._tracked(functools.partial(self.poll_job, feed.id)), IntervalTrigger(
                    seconds=seconds, jitter=min(30.0, seconds * 0.1), timezone=UTC),
                id=f"poll:{feed.id}", name=f"poll {feed.id}",
                next_run_time=now + timedelta(milliseconds=50 * i),  # first poll right away, staggered
            )
        scheduler.add_job(
            self._tracked(self.dispatch_job),
            IntervalTrigger(seconds=config.dispatch_interval.total_seconds(), timezone=UTC),
            id="dispatch", name="dispatch", next_run_time=now,
        )
        scheduler.start()
        self._scheduler = scheduler

    def shutdown(self, grace: float = STOP_GRACE) -> bool:
        """Stop scheduling, let running jobs finish for up to ``grace`` seconds. True if they all did."""
        self.stop.set()
        if self._scheduler is not None:
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

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            config = self.bot.config
            log.info("bot running: site %s, %d feed(s), %d account(s); stop with Ctrl-C or SIGTERM",
                     config.site.name, len(config.feeds), len(config.accounts))
            self.start()
            while not self.stop.wait(0.5):
                pass
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
