"""What an operator can watch, in Prometheus' text format (GET /metrics, bot/web.py).

Counters and histograms are kept as things happen (updates handled, messages sent,
Telegram's 429s); the backlog (due work waiting and late, the outbox, the inbox) is read
from the database when scraped. Each application has its own registry, so that several
in one process (the tests) never share figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from storage.health import Backlog

# Seconds from an update's arrival to its handling's end.
UPDATE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    started: float = field(default_factory=time.monotonic)
    # When the last update was handled and the scheduler last ticked (monotonic seconds).
    last_update: float | None = None
    last_tick: float | None = None

    def __post_init__(self) -> None:
        r = self.registry
        self.updates = Counter("yishi_updates_handled", "Updates handled.", registry=r)
        self.update_seconds = Histogram(
            "yishi_update_seconds", "Seconds from an update's arrival to the end of its "
            "handling.", buckets=UPDATE_BUCKETS, registry=r)
        self.sent = Counter("yishi_messages_sent", "Messages sent or edited, by Bot API "
                            "method.", ["method"], registry=r)
        self.flood_waits = Counter("yishi_telegram_429", "Calls Telegram answered with 429 "
                                   "(too many requests).", registry=r)
        self.retries = Counter("yishi_telegram_retries", "Calls made again after a 429 or "
                               "a server error.", registry=r)
        self.due_waiting = Gauge("yishi_due_work_waiting", "Due work whose time has come, "
                                 "not yet done.", registry=r)
        self.due_late = Gauge("yishi_due_work_late", "Due work more than a minute past its "
                              "time.", registry=r)
        self.outbox_depth = Gauge("yishi_outbox_depth", "Messages owed and not yet "
                                  "delivered.", registry=r)
        self.inbox_depth = Gauge("yishi_inbox_depth", "Updates received and not yet "
                                 "handled.", registry=r)

    def handled(self, seconds: float) -> None:
        self.updates.inc()
        self.update_seconds.observe(seconds)
        self.last_update = time.monotonic()

    def ticked(self) -> None:
        self.last_tick = time.monotonic()

    def render(self, backlog: Backlog) -> bytes:
        self.due_waiting.set(backlog.due_waiting)
        self.due_late.set(backlog.due_late)
        self.outbox_depth.set(backlog.outbox_depth)
        self.inbox_depth.set(backlog.inbox_depth)
        return generate_latest(self.registry)
