"""Several `yishi run` processes sharing one bot on PostgreSQL, behind one webhook URL
(bot/sharing.py): each update handled once and each chat's in order whoever receives it,
each message sent once, Telegram's limits kept by all of them together, and one of them
killed with SIGKILL in the middle of a vote burst without a vote lost or counted twice.

PostgreSQL only (YISHI_TEST_POSTGRES): SQLite is one process's database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.fakeapi.harness import POSTGRES, create_poll, poll_id_of
from bot.sharing import LOOK, SharedBudget
from handlers.polls import callbacks as poll_buttons
from storage import Database, inbox
from storage import instances as instance_store
from storage import polls as poll_store
from storage import reports as report_store
from storage.postgres import fresh_database

pytestmark = pytest.mark.skipif(not os.environ.get(POSTGRES),
                                reason="several instances need PostgreSQL (YISHI_TEST_POSTGRES)")

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
SECRET = "shared-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RoundRobin:
    """A load balancer in front of the instances: each request to the next one in turn;
    one that does not answer is skipped (as nginx's proxy_next_upstream does)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self.port = _free_port()
        self.served: dict[int, int] = dict.fromkeys(ports, 0)

    async def start(self) -> None:
        server = web.Application()
        server.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = ClientSession(timeout=ClientTimeout(total=10))

    async def stop(self) -> None:
        await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("content-type", "x-telegram-bot-api-secret-token")}
        first = next(self._turn)
        for n in range(len(self.ports)):
            port = self.ports[(first + n) % len(self.ports)]
            try:
                async with self._session.post(f"http://127.0.0.1:{port}/telegram",
                                              data=body, headers=headers) as answer:
                    self.served[port] += 1
                    return web.Response(status=answer.status, body=await answer.read())
            except (ClientError, OSError, TimeoutError):
                continue
        return web.Response(status=502, text="no instance answered")


class Instance:
    """One `yishi run` process of the deployment."""

    def __init__(self, name: str, config: Path, port: int) -> None:
        self.name, self.config, self.port = name, config, port
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, token: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
        env["YISHI_TELEGRAM__TOKEN"] = token
        with self.config.with_suffix(".log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(self.config), cwd=ROOT,
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log)
        async with ClientSession(timeout=ClientTimeout(total=2)) as session:
            for _ in range(600):
                with contextlib.suppress(ClientError, OSError, TimeoutError):
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as got:
                        if got.status in (200, 503):
                            return
                await asyncio.sleep(0.1)
        raise AssertionError(f"instance {self.name} did not start")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                await self.kill()


class Deployment:
    """Three instances on one database and one clock file, behind one round robin."""

    def __init__(self, api: Any, url: str, tmp_path: Path, count: int = 3) -> None:
        self.api, self.url = api, url
        self.clock_file = tmp_path / "now"
        ports = [_free_port() for _ in range(count)]
        self.balancer = RoundRobin(ports)
        self.instances = []
        for n, port in enumerate(ports, 1):
            config = tmp_path / f"i{n}.toml"
            config.write_text(
                f'[telegram]\nbase_url = "{api.base_url}"\n'
                f'base_file_url = "{api.base_file_url}"\n'
                f'webhook_url = "http://127.0.0.1:{self.balancer.port}/telegram"\n'
                f'webhook_secret = "{SECRET}"\n'
                f'[storage]\nurl = "{url}"\n'
                f'[scheduler]\ntick_seconds = 0.2\nclock_file = "{self.clock_file}"\n'
                f'[web]\nport = {port}\n'
                f'[instances]\nshared = true\nname = "i{n}"\n')
            self.instances.append(Instance(f"i{n}", config, port))
        self.set_clock(START)

    def set_clock(self, instant: datetime) -> None:
        partial = self.clock_file.with_suffix(".new")
        partial.write_text(instant.isoformat())
        partial.replace(self.clock_file)

    async def start(self) -> None:
        await self.balancer.start()
        await asyncio.gather(*(i.start(self.api.token) for i in self.instances))

    async def stop(self) -> None:
        await asyncio.gather(*(i.stop() for i in self.instances))
        await self.balancer.stop()

    async def holder_of(self, chat_id: int) -> Instance | None:
        """The instance whose run holds the chat now, if any."""
        async with _database(self.url) as db, db.transaction() as conn:
            runs = dict((run, name) for name, run in
                        await instance_store.alive(conn, timedelta(seconds=20)))
            held = {key: run for run in runs
                    for key in await instance_store.held(conn, run)}
        name = runs.get(held.get(chat_id, ""))
        return next((i for i in self.instances if i.name == name), None)

    async def settled(self, timeout: float = 90) -> None:
        """Everything posted so far is handled: the inbox is empty."""
        left = -1
        async with _database(self.url) as db:
            for _ in range(int(timeout / 0.1)):
                async with db.transaction() as conn:
                    left = len(await inbox.pending(conn))
                if left == 0 and not self.api._updates:
                    return
                await asyncio.sleep(0.1)
        raise AssertionError(f"{left} updates still not handled")


@contextlib.asynccontextmanager
async def _database(url: str) -> Any:
    db = Database(url)
    await db.open()
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def postgres_url() -> Any:
    async with fresh_database(os.environ[POSTGRES]) as url:
        yield url


@pytest.mark.real_limits
async def test_three_instances_one_killed_mid_burst_count_every_vote_once(
        api, tg, tmp_path, postgres_url):
    deployment = Deployment(api, postgres_url, tmp_path)
    try:
        await deployment.start()
        owner = tg.person("Owner", language_code="en")
        group = tg.group("Elm House")
        mark = api.mark()
        await tg.add_bot(group, owner)
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id,
                           timeout=30)
        mark = api.mark()
        await tg.say(owner, owner, "/start")
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == owner.id,
                           timeout=30)
        voters = [tg.person(f"Voter{i}", language_code="en") for i in range(40)]
        for voter in voters:
            await tg.say(group, voter, "hello")
        await deployment.settled()
        # A conversation over several updates in the owner's private chat, which may
        # be handled by a different instance at each step, then the post in the group.
        post, _controls, _preview = await create_poll(
            api, tg, group, owner, 1, deadline="3d", settings=("audience",) * 3)
        poll = poll_id_of(post)

        # A report filed step by step in private; each step may reach another instance,
        # which must know where the resident is (the flow's state, from the database).
        ann = tg.person("Ann", language_code="en")
        await tg.say(group, ann, "hello")
        mark = api.mark()
        await tg.say(group, ann, "/report")
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id,
                           timeout=30)
        to_ann = lambda c: c.chat_id == ann.id  # noqa: E731
        mark = api.mark()
        await tg.say(ann, ann, "/start report_1")
        prompt = await api.wait_for("sendMessage", after=mark, where=to_ann, timeout=30)
        album: list[str] = []
        for step in ("rp:c:lift", "album", "rp:p:done", "Lift doors stick on floor 3",
                     "rp:w:a:0", "rp:go"):
            await deployment.settled()
            await asyncio.sleep(LOOK * 2)  # the chat is given up, free for any instance
            mark = api.mark()
            if step == "album":
                sent = await tg.send_album(ann, ann, 3)
                album = [m["photo"][-1]["file_id"] for m in sent]
            elif step.startswith("rp:"):
                await tg.press(ann, prompt, step)
            else:
                await tg.say(ann, ann, step)
            answer = await api.wait_for(("sendMessage", "editMessageText"), after=mark,
                                        where=to_ann, timeout=30)
            prompt = answer if answer.buttons else prompt

        # The burst: half the presses, the instance holding the group killed, the rest.
        expected: dict[int, int] = {}
        for n, voter in enumerate(voters[:20]):
            await tg.press(voter, post, poll_buttons.VOTE.data(poll, n % 3))
            expected[voter.id] = n % 3
        await asyncio.sleep(0.3)
        victim = await deployment.holder_of(group.id)
        victim = victim or deployment.instances[0]
        await victim.kill()
        for n, voter in enumerate(voters[20:]):
            await tg.press(voter, post, poll_buttons.VOTE.data(poll, (n + 1) % 3))
            expected[voter.id] = (n + 1) % 3
        # A voter changes their mind: counted once, as the last choice.
        await tg.press(voters[0], post, poll_buttons.VOTE.data(poll, 0))
        await tg.press(voters[0], post, poll_buttons.VOTE.data(poll, 2))
        expected[voters[0].id] = 2
        await deployment.settled()
        # The killed instance is started again under its name.
        await victim.start(api.token)

        # A week of scheduled work: reminders, the poll's close, the weekly summary (due
        # Sunday 20:00, it waits out the quiet hours the clock jumps into, to Monday 07:30).
        for hours in range(6, 24 * 7 + 12, 6):
            deployment.set_clock(START + timedelta(hours=hours))
            await asyncio.sleep(0.5)
        await api.wait_for("sendMessage", timeout=60, where=lambda c: c.chat_id == group.id
                           and "已截止" in (c.text or ""))
        await api.wait_for("sendMessage", timeout=60,
                           where=lambda c: c.chat_id == group.id and "本周" in (c.text or ""))
        await asyncio.sleep(2)  # ten more ticks each: nothing more may come
        await deployment.settled()
        served = dict(deployment.balancer.served)
    finally:
        await deployment.stop()

    group_texts = [c.text for c in api.sent(chat_id=group.id)]
    assert len([t for t in group_texts if t.startswith("P-1 已截止")]) == 1
    reminders = [t for t in group_texts if t.startswith("提醒")]
    assert len(reminders) == len(set(reminders)) >= 1
    assert len([t for t in group_texts if "本周" in t and "Elm House" in t]) == 1
    async with _database(postgres_url) as db, db.transaction() as conn:
        ballots = await poll_store.ballot_rows(conn, poll)
        closed = await poll_store.get(conn, poll)
        report = await report_store.by_number(conn, 1, 1)
        photos = await report_store.photos(conn, report.id) if report else []
    assert report is not None
    assert report.description == "Lift doors stick on floor 3" and photos == album
    assert closed.status.value == "closed"
    assert {row["user_id"]: row["choice"] for row in ballots} == {
        voter: [option] for voter, option in expected.items()}
    # Every instance received updates; Telegram's limits were kept by all together (the
    # fake counts as Telegram does: any 30 in a second, any 20 to a group in a minute).
    assert all(count > 0 for count in served.values()), served
    assert [v for v in api.violations
            if "answered twice" not in v and "identical content" not in v] == []


async def test_the_send_budget_is_one_for_all_instances(postgres_url):
    """Two processes' reservations share the windows: the 31st message in a second, or
    the 21st to a group in a minute, waits, whichever process asks."""
    async with _database(postgres_url) as first, _database(postgres_url) as second:
        from storage.migrate import upgrade
        await upgrade(first)
        budgets = [SharedBudget(first), SharedBudget(second)]
        waits = [await budgets[n % 2].reserve(-100) for n in range(20)]
        assert waits == [0.0] * 20
        to_group = await budgets[0].reserve(-100)
        assert 59 < to_group <= 60.5  # the group's 21st waits for its first to leave
        waits = [await budgets[n % 2].reserve(n + 1) for n in range(10)]
        assert waits == [0.0] * 10  # 30 in this second, in private chats and the group
        overall = await budgets[1].reserve(77)
        assert 0 < overall <= 1.04
