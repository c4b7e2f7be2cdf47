"""The real application in-process against the local Bot API stand-in, started as `yishi
run` starts it, with a controllable clock: what the tests, the benchmarks and the sandbox
drive. Not imported by the bot itself (an import-linter contract keeps it so)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import build_application, start_in_loop, stop_in_loop, tick
from bot.clock import ManualClock
from bot.config import Settings
from bot.context import YishiApp
from bot.fakeapi.actions import Telegram
from bot.fakeapi.server import Call, FakeBotApi

# Monday 23 November 2026, 10:00 in Shanghai: inside no quiet hours.
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _sqlalchemy_cleanup(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and f"{os.sep}sqlalchemy{os.sep}" in code.co_filename


# The variable that runs the tests against a PostgreSQL server (its URL) instead of SQLite.
POSTGRES = "YISHI_TEST_POSTGRES"


def make_settings(api: FakeBotApi, db_path: Path | str, **sections: dict[str, Any]
                  ) -> Settings:
    url = db_path if isinstance(db_path, str) else f"sqlite+aiosqlite:///{db_path}"
    values: dict[str, Any] = {
        "telegram": {"token": api.token, "base_url": api.base_url,
                     "base_file_url": api.base_file_url},
        "storage": {"url": url},
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
        if services.web is not None:
            await services.web.stop()  # and its listening one
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
        lane = getattr(self.app.bot, "lane", None)
        if lane is not None:
            await lane.idle()  # presses handled on arrival (bot/inbox.py)
        await self.app.bot_data.services.outbox.idle()

    @property
    def services(self) -> Any:
        assert self.app is not None
        return self.app.bot_data.services


async def ask_poll_question(api: FakeBotApi, tg: Telegram, owner: Any, community_id: int,
                            question: str) -> Call:
    """The moderator starts a poll in private from the group's link and types its
    question; returns the bot's question about the options."""
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    mark = api.mark()
    await tg.say(owner, owner, f"/start poll_{community_id}")
    await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, question)
    return await api.wait_for("sendMessage", after=mark, where=to_owner)


async def prepare_poll(api: FakeBotApi, tg: Telegram, owner: Any, community_id: int, *,
                       question: str = "Repaint the lobby?", options: Any = None,
                       deadline: str = "3d", settings: Any = ()) -> Call:
    """The moderator prepares a poll in private, from the group's link, up to its preview
    with ``settings`` pressed (not published); returns the preview."""
    to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
    ask_options = await ask_poll_question(api, tg, owner, community_id, question)
    mark = api.mark()
    if options is None:
        await tg.press(owner, ask_options, "pc:o:yna")
        await api.wait_for("editMessageText", after=mark, where=to_owner)
    else:
        await tg.say(owner, owner, "\n".join(options))
        await api.wait_for("sendMessage", after=mark, where=to_owner)
    mark = api.mark()
    await tg.say(owner, owner, deadline)
    preview = await api.wait_for("sendMessage", after=mark, where=to_owner)
    for setting in settings:
        # Each named setting is moved one step, as a moderator would: open its choices,
        # press the one after the marked (current) one.
        mark = api.mark()
        await tg.press(owner, preview, f"pc:s:{setting}")
        step = await api.wait_for("editMessageText", after=mark, where=to_owner)
        if step.buttons and step.buttons[0]["callback_data"].startswith("pc:c:"):
            choices = [b for b in step.buttons if not b["callback_data"].endswith(":back")]
            marked = next(i for i, b in enumerate(choices) if b["text"].startswith("✓"))
            mark = api.mark()
            await tg.press(owner, step, choices[(marked + 1) % len(choices)]["callback_data"])
            step = await api.wait_for("editMessageText", after=mark, where=to_owner)
        preview = step
    return preview


async def create_poll(api: FakeBotApi, tg: Telegram, group: Any, owner: Any, community_id: int,
                      *, question: str = "Repaint the lobby?", options: Any = None,
                      deadline: str = "3d", settings: Any = ()) -> tuple[Call, Call, Call]:
    """The moderator prepares a poll from the group link and publishes it; returns the
    group post, the moderator's controls and the preview."""
    mark = api.mark()
    await tg.say(group, owner, "/poll")
    handover = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id
                                  and bool(c.buttons) and "url" in c.buttons[0])
    assert handover.buttons[0]["url"].endswith(f"start=poll_{community_id}")
    preview = await prepare_poll(api, tg, owner, community_id, question=question,
                                 options=options, deadline=deadline, settings=settings)
    mark = api.mark()
    await tg.press(owner, preview, "pc:go")
    post = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
    controls = await api.wait_for("editMessageText", after=mark,
                                  where=lambda c: c.chat_id == owner.id)
    return post, controls, preview


def poll_id_of(post: Call) -> int:
    return int(post.buttons[0]["callback_data"].split(":")[1])


# What people say in the noisy stream of updates (commands, chatter, one unknown command).
STREAM_SAID = ("/help", "/polls", "/topics", "/me", "/start", "/report", "/decisions",
               "/nonsense", "hello", "你好")


async def push_stream(tg: Telegram, groups: list[Any], people: list[Any], count: int,
                      rnd: Any) -> None:
    """``count`` updates pushed at once, round the ``people`` (split evenly between the
    ``groups``): six in ten in their group, the rest in private; one in ten a sticker."""
    per_group = len(people) // len(groups)
    for n in range(count):
        person = people[n % len(people)]
        where = groups[n % len(people) // per_group] if rnd.random() < 0.6 else person
        if rnd.random() < 0.1:
            await tg.send_sticker(where, person)
        else:
            await tg.say(where, person, rnd.choice(STREAM_SAID))
