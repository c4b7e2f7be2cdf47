"""`yishi run` killed with SIGKILL at random moments of a busy week and started again on
the same database, ten times: no vote or report lost, the poll closes once, nothing is
posted twice, and a resident half-way through filing a report carries on where they were
with every photo and answer they had given.

Time is a file the test writes (``[scheduler] clock_file``), so the process's clock moves
with the script; updates the process had fetched but not confirmed are delivered again
after the restart, as Telegram does.
"""

import asyncio
import os
import random
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.reports import ReportStatus
from handlers.polls import callbacks as poll_buttons
from storage import Database, inbox
from storage import polls as poll_store
from storage import reports as report_store
from tests.test_polls import _create, _poll_id

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


class Bot:
    """One `yishi run` process at a time, on one database and one clock file."""

    def __init__(self, api, tmp_path: Path) -> None:
        self.api = api
        self.clock_file = tmp_path / "now"
        self.db_path = tmp_path / "yishi.db"
        self.db_url = f"sqlite+aiosqlite:///{self.db_path}"
        self.config = tmp_path / "config.toml"
        self.config.write_text(
            f'[telegram]\nbase_url = "{api.base_url}"\nbase_file_url = "{api.base_file_url}"\n'
            f'[storage]\nurl = "{self.db_url}"\n'
            f'[scheduler]\ntick_seconds = 0.2\nclock_file = "{self.clock_file}"\n'
            f'[polls]\ntally_refresh_seconds = 0\n[topics]\npost_refresh_seconds = 0\n'
            # The half-filed report must outlive the script's days, not time out.
            f'[conversations]\nidle_timeout_minutes = 10080\n')
        self.process: asyncio.subprocess.Process | None = None
        self.now = START
        self.set_clock(START)

    def set_clock(self, instant: datetime) -> None:
        self.now = instant
        partial = self.clock_file.with_suffix(".new")
        partial.write_text(instant.isoformat())
        partial.replace(self.clock_file)

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
        env["YISHI_TELEGRAM__TOKEN"] = self.api.token
        mark = self.api.mark()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(self.config), cwd=ROOT,
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await self.api.wait_for("deleteMyCommands", after=mark, timeout=60)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        await asyncio.wait_for(self.process.wait(), 30)


async def _settled(api, tg, sentinel, bot: Bot) -> None:
    """Everything pushed so far is handled: the sentinel's answer shows the bot fetched it
    (updates are fetched in order), and an empty inbox shows it handled all it fetched
    (updates in different chats finish in any order)."""
    mark = api.mark()
    await tg.say(sentinel, sentinel, "/help")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == sentinel.id,
                       timeout=60)
    db = Database(f"sqlite+aiosqlite:///{bot.db_path}")
    await db.open()
    try:
        for _ in range(600):
            async with db.transaction() as conn:
                left = len(await inbox.pending(conn))
            if left == 0:
                return
            await asyncio.sleep(0.05)
    finally:
        await db.close()
    raise AssertionError(f"{left} fetched updates still not handled")


async def test_sigkill_ten_times_in_a_busy_week_loses_and_repeats_nothing(api, tg, tmp_path):
    rng = random.Random(20261122)
    bot = Bot(api, tmp_path)
    await bot.start()
    try:
        owner = tg.person("Owner", language_code="en")
        group = tg.group("Elm House")
        mark = api.mark()
        await tg.add_bot(group, owner)
        await api.wait_for("sendMessage", after=mark)
        voters = [tg.person(f"Voter{i}", language_code="en") for i in range(6)]
        ann = tg.person("Ann", language_code="en")
        sentinel = tg.person("Sentinel", language_code="en")
        for person in (owner, ann, sentinel, *voters):
            await tg.say(group, person, "hello")
            mark = api.mark()
            await tg.say(person, person, "/start")
            await api.wait_for("sendMessage", after=mark,
                               where=lambda c, p=person: c.chat_id == p.id, timeout=30)
        # Anyone in the group votes (Who votes: verified → households → owners → members).
        post, _c, _p = await _create(api, tg, group, owner, 1, deadline="3d",
                                     settings=("audience",) * 3)
        poll = _poll_id(post)
        to_ann = lambda c: c.chat_id == ann.id  # noqa: E731
        mark = api.mark()
        await tg.say(group, ann, "/report")
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id)
        mark = api.mark()
        await tg.say(ann, ann, "/start report_1")
        prompt = await api.wait_for("sendMessage", after=mark, where=to_ann, timeout=30)

        expected: dict[int, int] = {}
        album: list[str] = []
        steps = ["rp:c:lift", "album", "rp:p:done", "Lift doors stick on floor 3",
                 "rp:w:a:0", "rp:go"]
        for round_ in range(10):
            bot.set_clock(START + timedelta(hours=8 * (round_ + 1)))
            step_mark = api.mark()
            if round_ < 6:  # the deadline is 72 h away: these votes all count
                for voter in rng.sample(voters, 3):
                    option = rng.randrange(3)
                    await tg.press(voter, post, poll_buttons.VOTE.data(poll, option))
                    expected[voter.id] = option
                step = steps[round_]
                if step == "album":
                    sent = await tg.send_album(ann, ann, 3)
                    album = [m["photo"][-1]["file_id"] for m in sent]
                elif step.startswith("rp:"):
                    await tg.press(ann, prompt, step)
                else:
                    await tg.say(ann, ann, step)
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            await bot.kill()
            await bot.start()
            if round_ < 6:
                # The step's answer arrives, before or after the kill (maybe twice).
                latest = await api.wait_for(("sendMessage", "editMessageText"),
                                            after=step_mark, timeout=30, where=to_ann)
                await _settled(api, tg, sentinel, bot)
                answers = [c for c in api.calls[step_mark:] if to_ann(c) and c.buttons
                           and c.method in ("sendMessage", "editMessageText") and not c.error]
                prompt = answers[-1] if answers else prompt
                assert latest
            await _settled(api, tg, sentinel, bot)

        bot.set_clock(START + timedelta(hours=100))
        await api.wait_for("sendMessage", timeout=90,
                           where=lambda c: c.chat_id == group.id and "已截止" in c.text)
        await asyncio.sleep(1)  # a few more ticks: nothing more may come
        await _settled(api, tg, sentinel, bot)
        await bot.stop()
    finally:
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()

    group_texts = [c.text for c in api.sent(chat_id=group.id)]
    assert len([t for t in group_texts if t.startswith("P-1 已截止")]) == 1
    reminders = [t for t in group_texts if t.startswith("提醒")]
    assert len(reminders) == len(set(reminders)) >= 1
    db = Database(bot.db_url)
    await db.open()
    try:
        async with db.transaction() as conn:
            ballots = await poll_store.ballot_rows(conn, poll)
            closed = await poll_store.get(conn, poll)
            report = await report_store.by_number(conn, 1, 1)
            photos = await report_store.photos(conn, report.id) if report else []
    finally:
        await db.close()
    assert closed.status.value == "closed"
    assert {row["user_id"]: row["choice"] for row in ballots} == {
        voter: [option] for voter, option in expected.items()}
    assert report is not None and report.status is ReportStatus.NEW
    assert report.description == "Lift doors stick on floor 3" and photos == album
    # An update handled again after a crash may answer its button twice or repeat an
    # edit (Telegram refuses both, harmlessly); nothing else may break the Bot API's rules.
    assert [v for v in api.violations
            if "answered twice" not in v and "identical content" not in v] == []


async def test_updates_numbered_afresh_are_new_not_old(bot, api, tg):
    """Telegram numbers updates afresh after a week without any: ids far below the last
    one received are handled, not taken for redeliveries."""
    api.continue_after(5000)
    ann = tg.person("Ann", language_code="en")
    mark = api.mark()
    await tg.say(ann, ann, "/start")
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    await bot.restart()
    api.continue_after(0)
    mark = api.mark()
    await tg.say(ann, ann, "/help")
    answer = await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == ann.id)
    assert answer.text
