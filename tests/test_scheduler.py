"""The scheduler as a clock: due work runs once, at its time, after downtime too, and
never in a group's quiet hours."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.scheduler import LEASE, Defer, Done
from storage import communities, due_work
from tests.helpers import group_with_bot

PING = "test_ping"


def add_ping(failures: list[int] | None = None):
    """A kind of due work for the tests: post "ping <key>" to a group, unless it is quiet."""

    def register(app):
        async def ping(app, work):
            services = app.bot_data.services
            async with services.db.transaction() as conn:
                target = await communities.by_id(conn, work.payload["community"])
            until = target.quiet_until(services.clock.now())
            if until is not None:
                return Defer(until)
            if failures:
                failures.pop()
                raise RuntimeError("Telegram was not reachable")
            await app.bot.send_message(target.chat_id, f"ping {work.key}")
            return Done()

        app.bot_data.services.scheduler.on(PING, ping)

    return register


async def _group(bot, api, tg):
    group, _, stored = await group_with_bot(bot, api, tg, "Clock Tower")
    return group, stored


async def _schedule(bot, key, due_at, community_id):
    await bot.services.scheduler.schedule(kind=PING, key=key, due_at=due_at,
                                          payload={"community": community_id})


def _pings(api, group, after=0):
    return [c.text for c in api.sent(chat_id=group.id, after=after)
            if c.text.startswith("ping")]


async def test_due_work_runs_once_at_its_time_even_after_a_restart(bot, api, tg, clock):
    await bot.restart(add_ping())
    group, stored = await _group(bot, api, tg)
    await _schedule(bot, "a", clock.now() + timedelta(hours=3), stored.id)
    assert await bot.tick() == 0

    await bot.stop()  # the bot is down when the work falls due
    clock.advance(timedelta(hours=5))
    await bot.start(add_ping())
    assert await bot.tick() == 1
    assert _pings(api, group) == ["ping a"]
    assert await bot.tick() == 0
    clock.advance(timedelta(days=1))
    assert await bot.tick() == 0
    assert _pings(api, group) == ["ping a"]


async def test_quiet_hours_defer_unrequested_messages(bot, api, tg, clock):
    await bot.restart(add_ping())
    group, stored = await _group(bot, api, tg)
    # 23:00 in Shanghai: inside the default quiet hours 22:00-07:30.
    late = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    await _schedule(bot, "night", late, stored.id)
    clock.set(late)
    assert await bot.tick() == 0
    clock.set(datetime(2026, 11, 23, 23, 29, tzinfo=UTC))  # 07:29
    assert await bot.tick() == 0
    assert _pings(api, group) == []
    clock.set(datetime(2026, 11, 23, 23, 30, tzinfo=UTC))  # 07:30
    assert await bot.tick() == 1
    assert _pings(api, group) == ["ping night"]


@pytest.mark.expect_handler_errors
async def test_a_failure_is_retried_with_backoff(bot, api, tg, clock):
    await bot.restart(add_ping(failures=[1, 1]))
    group, stored = await _group(bot, api, tg)
    await _schedule(bot, "flaky", clock.now(), stored.id)
    assert await bot.tick() == 0  # first failure: retry in a minute
    assert await bot.tick() == 0
    clock.advance(timedelta(minutes=1))
    assert await bot.tick() == 0  # second failure: retry in two
    clock.advance(timedelta(minutes=1))
    assert await bot.tick() == 0
    clock.advance(timedelta(minutes=1))
    assert await bot.tick() == 1
    assert _pings(api, group) == ["ping flaky"]
    async with bot.services.db.transaction() as conn:
        assert await due_work.pending(conn, kind=PING, key="flaky") is None


async def test_work_taken_by_a_process_that_died_runs_again_after_its_lease(bot, api, tg,
                                                                             clock):
    await bot.restart(add_ping())
    group, stored = await _group(bot, api, tg)
    await _schedule(bot, "orphan", clock.now(), stored.id)
    async with bot.services.db.transaction() as conn:
        [work] = await due_work.due(conn, clock.now(), 10)
        assert await due_work.claim(conn, work, clock.now() + LEASE)  # ...and then it died
    await bot.restart(add_ping())
    assert await bot.tick() == 0
    clock.advance(LEASE)
    assert await bot.tick() == 1
    assert _pings(api, group) == ["ping orphan"]


async def test_rearming_replaces_the_time(bot, api, tg, clock):
    await bot.restart(add_ping())
    group, stored = await _group(bot, api, tg)
    await _schedule(bot, "r", clock.now() + timedelta(hours=1), stored.id)
    await _schedule(bot, "r", clock.now() + timedelta(hours=2), stored.id)
    clock.advance(timedelta(hours=1))
    assert await bot.tick() == 0
    clock.advance(timedelta(hours=1))
    assert await bot.tick() == 1
    assert _pings(api, group) == ["ping r"]


async def test_the_repeating_job_drives_the_tick(bot, api, tg, clock):
    await bot.restart(add_ping())
    group, stored = await _group(bot, api, tg)
    [job] = bot.app.job_queue.get_jobs_by_name("scheduler:tick")
    assert job.job.trigger.interval == timedelta(seconds=3600)
    # A late tick runs (once), however busy the loop was when it fell due.
    assert job.job.misfire_grace_time is None and job.job.coalesce
    await _schedule(bot, "by-job", clock.now(), stored.id)
    await job.run(bot.app)
    assert _pings(api, group) == ["ping by-job"]


async def test_a_spaced_post_edit_runs_however_late_the_loop_gets_to_it(bot):
    """A burst can keep the event loop busy past a refresh's moment; APScheduler drops a
    job more than a second late unless told otherwise, and the live post would then keep
    its old figures until someone pressed again."""
    from handlers.common import schedule_spaced

    async def refresh(_context) -> None:
        return None

    schedule_spaced(bot.app, "poll-post:1", 5, refresh, None)
    (job,) = bot.app.job_queue.get_jobs_by_name("poll-post:1")
    assert job.job.misfire_grace_time is None
