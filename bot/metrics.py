"""The daemon's Prometheus metrics (prometheus-client, imported only when the HTTP side is on): counters the
daemon counts into, and gauges read from the store at each scrape with aggregate queries only."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import XAccount
from bot.models import DeliveryState
from bot.pricing import MICRO, cycle_start, day_start

if TYPE_CHECKING:
    from bot.core import Bot


class Daemon(Protocol):
    """What the gauges read: the running daemon's current bot (it changes at each reload)."""

    bot: Bot


class Metrics:
    """Counters kept by the daemon, and gauges read from the store when scraped (prometheus-client)."""

    def __init__(self, daemon: Daemon) -> None:
        from prometheus_client import CollectorRegistry, Counter

        self.registry = CollectorRegistry()
        self.polls = Counter("bot_polls", "Polls by feed and outcome", ["feed", "status"], registry=self.registry)
        self.fetch_errors = Counter("bot_fetch_errors", "Polls that failed", ["feed"], registry=self.registry)
        self.new_articles = Counter("bot_new_articles", "Articles seen for the first time", ["feed"],
                                    registry=self.registry)
        self.deliveries = Counter("bot_deliveries", "Deliveries by account and outcome", ["account", "outcome"],
                                  registry=self.registry)
        self.registry.register(_StoreGauges(daemon))
        self._used: dict[Any, set[tuple[str, ...]]] = {}  # each counter's label values so far
        self._lock = threading.Lock()  # polls count from their threads while a reload forgets

    def count(self, counter: Any, *labels: str, by: float = 1) -> None:
        with self._lock:
            self._used.setdefault(counter, set()).add(labels)
            counter.labels(*labels).inc(by)

    def forget(self, feeds: set[str], accounts: set[str]) -> None:
        """Drop the series of feeds and accounts no longer configured (after a reload)."""
        with self._lock:
            for counter, used in self._used.items():
                keep = accounts if counter is self.deliveries else feeds
                for labels in [labels for labels in used if labels[0] not in keep]:
                    counter.remove(*labels)
                    used.discard(labels)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        data: bytes = generate_latest(self.registry)
        return data


class NoMetrics:
    """The daemon's counters when nothing can read them (no HTTP side): counting does nothing, and
    prometheus-client is not imported at all."""

    polls = fetch_errors = new_articles = deliveries = None

    def count(self, counter: Any, *labels: str, by: float = 1) -> None:
        pass

    def forget(self, feeds: set[str], accounts: set[str]) -> None:
        pass


class _StoreGauges:
    """The gauges read from the store at each scrape (aggregate queries only)."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        bot = self.daemon.bot
        now = bot.clock.now()
        queue = GaugeMetricFamily("bot_queue_depth", "Deliveries waiting to be sent")
        queue.add_metric([], bot.store.queue_depth())
        yield queue
        awaiting = GaugeMetricFamily("bot_awaiting_approval", "Deliveries waiting for a person's approval")
        awaiting.add_metric([], bot.store.queue_depth(DeliveryState.AWAITING_APPROVAL.value))
        yield awaiting
        since_poll = GaugeMetricFamily("bot_seconds_since_last_successful_poll", "Per feed", labels=["feed"])
        configured = {f.id for f in bot.config.feeds}
        for feed_id, at in bot.store.last_successes().items():
            if feed_id in configured:  # a feed removed from the config is no longer reported
                since_poll.add_metric([feed_id], (now - at).total_seconds())
        yield since_poll
        since_post = GaugeMetricFamily("bot_seconds_since_last_post", "Per account", labels=["account"])
        last = bot.store.last_sent()
        for account in bot.config.accounts:
            if account.id in last:
                since_post.add_metric([account.id], (now - last[account.id]).total_seconds())
        yield since_post
        spend = GaugeMetricFamily("bot_x_spend_usd", "What X charged an account (its pay-per-use prices, as "
                                  "configured): today and this billing cycle, in the site's timezone",
                                  labels=["account", "period"])
        tz = bot.config.site.tz
        for account in bot.config.accounts:
            if isinstance(account, XAccount):
                got = bot.store.spend_of(account.id, day_start(now, tz),
                                         cycle_start(now, tz, account.budget.cycle_day))
                spend.add_metric([account.id, "day"], got.today / MICRO)
                spend.add_metric([account.id, "cycle"], got.cycle / MICRO)
        yield spend
