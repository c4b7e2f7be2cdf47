"""Eight simulated weeks in one building: every loop must close (tests/simulation.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.fakeapi.actions import Telegram
from bot.fakeapi.server import FakeBotApi
from tests.conftest import RunningBot, make_settings
from tests.simulation import SPEEDUP, Simulation


@pytest.fixture
async def sim_bot(api: FakeBotApi, db_path, clock) -> AsyncIterator[RunningBot]:
    settings = make_settings(api, db_path, summary={"enabled": True},
                             topics={"post_refresh_seconds": 3},
                             polls={"tally_refresh_seconds": 3})
    api.speedup = SPEEDUP
    running = RunningBot(api, settings, clock, speedup=SPEEDUP)
    await running.start()
    yield running
    await running.stop()


async def test_eight_weeks_in_a_building_leave_no_loop_open(sim_bot: RunningBot,
                                                            api: FakeBotApi, tg: Telegram,
                                                            caplog: pytest.LogCaptureFixture
                                                            ) -> None:
    caplog.set_level(logging.WARNING)  # eight weeks of INFO lines cost a minute to capture
    simulation = Simulation(sim_bot, api, tg, residents=300, weeks=8)
    await simulation.set_up()
    await simulation.run()
    problems = await simulation.check()
    print(simulation.table())
    assert problems == []


async def test_the_simulation_notices_loops_left_open(sim_bot: RunningBot, api: FakeBotApi,
                                                      tg: Telegram,
                                                      caplog: pytest.LogCaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks can fail: with the "is it fixed?" question gone and deadlines that never
    close a poll, a shorter run reports both leaks."""
    import handlers.polls.jobs
    import handlers.reports.lifecycle

    async def never_asked(conn: object, services: object, report: object,
                          key: str) -> list[object]:
        return []

    async def never_closed(app: object, poll_id: int) -> bool:
        return False

    monkeypatch.setattr(handlers.reports.lifecycle, "_fixed_question", never_asked)
    monkeypatch.setattr(handlers.polls.jobs, "close_poll", never_closed)
    caplog.set_level(logging.WARNING)
    simulation = Simulation(sim_bot, api, tg, residents=60, weeks=2, restart_on=(9,))
    await simulation.set_up()
    await simulation.run()
    problems = await simulation.check()
    assert any("never asked whether it is fixed" in p for p in problems), problems
    assert any("passed its deadline but is open" in p for p in problems), problems
