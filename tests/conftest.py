"""Fixtures: the fake Bot API, a controllable clock, and the real application running
against both with a temporary database."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import buttons
from bot.clock import ManualClock
from bot.config import Settings
from bot.fakeapi.actions import Telegram
from bot.fakeapi.harness import POSTGRES, START, RunningBot, make_settings
from bot.fakeapi.server import FakeBotApi
from storage.postgres import fresh_database

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


# The feature tests run with Telegram's flood limits scaled up this many times, on both
# sides (the fake's strict windows and the bot's), so that a test posting 25 messages to
# a group need not wait out a real minute. Tests marked ``real_limits`` (and
# tests/test_sending.py) hold the bot to Telegram's limits as they are.
LIMITS_SPEEDUP = 3


@pytest.fixture
async def api(request: pytest.FixtureRequest) -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    server.speedup = 1 if request.node.get_closest_marker("real_limits") else LIMITS_SPEEDUP
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
async def db_path(tmp_path: Path) -> AsyncIterator[Path | str]:
    """Where the test's database lives: a SQLite file, or — with YISHI_TEST_POSTGRES set
    to a server's URL — a fresh PostgreSQL database of its own, dropped afterwards."""
    server = os.environ.get(POSTGRES)
    if not server:
        yield tmp_path / "yishi.db"
        return
    async with fresh_database(server) as url:
        yield url


@pytest.fixture
def settings(api: FakeBotApi, db_path: Path) -> Settings:
    return make_settings(api, db_path)


@pytest.fixture
async def bot(api: FakeBotApi, settings: Settings,
              clock: ManualClock) -> AsyncIterator[RunningBot]:
    running = RunningBot(api, settings, clock, speedup=api.speedup)
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
