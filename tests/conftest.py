"""Fixtures: the fake Bot API, a controllable clock, and the real application running
against both with a temporary database."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import buttons
from bot.app import build_application, start_in_loop, stop_in_loop, tick
from bot.clock import ManualClock
from bot.config import Settings
from bot.context import YishiApp
from bot.fakeapi.actions import Telegram
from bot.fakeapi.server import FakeBotApi

# Monday 23 November 2026, 10:00 in Shanghai: inside no quiet hours.
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _sqlalchemy_cleanup(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and f"{os.sep}sqlalchemy{os.sep}" in code.co_filename


def make_settings(api: FakeBotApi, db_path: Path, **sections: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {
        "telegram": {"token": api.token, "base_url": api.base_url,
                     "base_file_url": api.base_file_url},
        "storage": {"url": f"sqlite+aiosqlite:///{db_path}"},
        # Ticks are driven by the tests after moving the clock; the job's own interval is
        # kept long so it never races them.
        "scheduler": {"tick_seconds": 3600},
        # Live posts are refreshed at once in tests; test_topics checks the spacing.
        "topics": {"post_refresh_seconds": 0},
        "polls": {"tally_refresh_seconds": 0},
        "decisions": {"rating_refresh_seconds": 0},
        # Tests that move the clock over a Sunday evening would otherwise all see the
        # weekly summary; test_summary turns it on.
        "summary": {"enabled": False},
    }
    for name, overrides in sections.items():
        values[name] = {**values.get(name, {}), **overrides}
    return Settings(**values)


@dataclass
class RunningBot:
    """The real application, started the way `yishi run` starts it, but in-process."""

    api: FakeBotApi
    settings: Settings
    clock: ManualClock
    app: YishiApp | None = None
    restarts: int = field(default=0)
    speedup: int = 1  # Telegram's limits as they are; only the simulation scales them
    _tasks_before: set[Any] = field(default_factory=set)

    async def start(self, extend: Any = None) -> None:
        self._tasks_before = asyncio.all_tasks()
        app = build_application(self.settings, clock=self.clock,
                                extra_features=[extend] if extend else [],
                                speedup=self.speedup)
        # Tests move the clock right away: this returns once the start hooks have armed.
        await start_in_loop(app, poll_timeout=1)
        self.app = app

    async def stop(self) -> None:
        app = self.app
        if app is None:
            return
        self.app = None
        self.api.release_long_polls()
        await stop_in_loop(app)

    async def crash(self) -> None:
        """As if the process were killed: no update is confirmed to Telegram, nothing is
        flushed or shut down, and whatever was in hand is abandoned mid-way. Only the
        database (and the fake Telegram) carry over to the next :meth:`start`.

        In-process, a kill is the cancelling of every task started since the bot was. It
        lands between two transactions: an orphaned connection would hold SQLite's lock
        for the next start, where a dead process's would have vanished. For the database
        that is the same as a kill at any other moment, since SQLite rolls back what a
        killed process left uncommitted, as if it had never begun.
        """
        app = self.app
        assert app is not None
        self.app = None
        services = app.bot_data.services
        if app.job_queue is not None:
            app.job_queue.scheduler.shutdown(wait=False)  # no timer fires for the dead one
        # Every task started since the bot was (the fake Telegram's connections to it
        # among them, as a dead process's sockets close), until none is left; the one in
        # the middle of a transaction once that transaction has ended.
        # SQLAlchemy hands a connection back to its pool in a task of its own, which must
        # not be cut short: a connection never handed back is only closed when the
        # collector finds it, with a warning, in some later test. (A dead process's
        # connections are closed by the system; these are closed with the pool, below.)
        current = asyncio.current_task()

        async def cancel_all(but: Any = None) -> None:
            for _round in range(20):
                tasks = [t for t in asyncio.all_tasks() if t is not current and t is not but
                         and t not in self._tasks_before and not t.done()
                         and not _sqlalchemy_cleanup(t)]
                if not tasks:
                    break
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(t for t in asyncio.all_tasks() if _sqlalchemy_cleanup(t)),
                                 return_exceptions=True)

        await cancel_all(but=services.db.writer_task)
        writer = services.db._sqlite_writer  # private to storage/database.py; a test's kill
        if writer is not None:
            await writer.acquire()  # the transaction under way commits; none starts after
        await cancel_all()
        assert services.db.engine.pool.checkedout() == 0, "a connection was left checked out"
        await services.db.close()  # a dead process's connections are gone; so is its lock
        await app.bot.shutdown()  # and so are its sockets
        self.api.release_long_polls()
        self.restarts += 1

    async def restart(self, extend: Any = None) -> None:
        await self.stop()
        self.restarts += 1
        await self.start(extend)

    async def tick(self) -> int:
        """One scheduler tick at the clock's current time, as the repeating job runs it.

        Moving the clock skips the moments in which the bot would have finished writing
        the last update's changes; flush them first, as real time would have.
        """
        assert self.app is not None
        await self.settled()
        await self.app.update_persistence()
        return await tick(self.app)

    async def settled(self) -> None:
        """Wait until every update the bot has fetched is handled (they run side by side,
        so the last answer seen is not necessarily the last update finished)."""
        assert self.app is not None
        await self.app.update_queue.join()
        await self.app.bot_data.services.outbox.idle()

    @property
    def services(self) -> Any:
        assert self.app is not None
        return self.app.bot_data.services


# What a handler, a due item or the outbox's runner logs when it raised: each is a bug
# unless the test set out to cause it.
FAILURES = {("yishi.errors", "handler failed"), ("bot.scheduler", "due work failed"),
            ("bot.outbox", "outbox delivery failed")}


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if (record.name, record.getMessage()) in FAILURES:
            cause = record.exc_info[1] if record.exc_info else None
            self.seen.append(f"{record.name}: {record.getMessage()}: {cause!r}")


@pytest.fixture(autouse=True)
def no_handler_raised(request: pytest.FixtureRequest) -> Any:
    """Fail a test in which a handler (or a due item, or the outbox) raised, unless it is
    marked ``expect_handler_errors``: the error handler's apology would otherwise pass for
    an answer."""
    failures = _Failures()
    root = logging.getLogger()
    root.addHandler(failures)
    yield failures
    root.removeHandler(failures)
    if failures.seen and request.node.get_closest_marker("expect_handler_errors") is None:
        pytest.fail("a handler raised: " + "; ".join(failures.seen), pytrace=False)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def tg(api: FakeBotApi) -> Telegram:
    return Telegram(api)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "yishi.db"


@pytest.fixture
def settings(api: FakeBotApi, db_path: Path) -> Settings:
    return make_settings(api, db_path)


@pytest.fixture
async def bot(api: FakeBotApi, settings: Settings,
              clock: ManualClock) -> AsyncIterator[RunningBot]:
    running = RunningBot(api, settings, clock)
    await running.start()
    yield running
    await running.stop()
    assert api.violations == [], f"Bot API violations: {api.violations}"
    assert api.unanswered_callbacks() == [], "button presses the bot never answered"
    assert undeclared_buttons(api) == [], "buttons sent that bot/buttons.py does not declare"


def undeclared_buttons(api: FakeBotApi) -> list[str]:
    """Callback data of every button the bot sent that the registry would not parse."""
    found = []
    for call in api.calls:
        markup = call.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for key in row:
                data = key.get("callback_data")
                if data is not None and buttons.parse(data) is None:
                    found.append(data)
    return found
