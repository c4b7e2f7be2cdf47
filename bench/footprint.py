"""Footprint: `yishi run` as a separate process on a database holding 10,000 verified
residents in 500 communities: the time from starting it to its first getUpdates, and
its resident memory (RSS) after a burst of 1,000 votes."""

from __future__ import annotations

import asyncio
import compileall
import os
import signal
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import START, fake_api, median, table
from bot.domain.households import Relation
from bot.domain.quiet_hours import QuietHours
from bot.domain.residents import ResidentStatus
from bot.domain.units import UnitAddress
from bot.fakeapi.actions import Telegram
from handlers.polls import callbacks as poll_buttons
from storage import Database, communities, memberships, people, residents, units
from storage import polls as poll_store
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
COMMUNITIES, PER_COMMUNITY = 500, 20


async def _populate(url: str, tg: Telegram) -> tuple[list, tuple[int, dict]]:
    """500 groups with 20 verified owners each, and an open poll in the first; returns the
    groups, the poll and its post."""
    db = Database(url)
    await db.open()
    await upgrade(db)
    groups = []
    try:
        async with db.transaction() as conn:
            for c in range(COMMUNITIES):
                group = tg.group(f"Building {c}")
                groups.append(group)
                tg.api.members[(group.id, tg.api.bot["id"])] = "member"
                community, _ = await communities.activate(
                    conn, chat_id=group.id, title=group.title, language="zh",
                    timezone="Asia/Shanghai", quiet_hours=QuietHours.parse("22:00-07:30"),
                    now=START)
                for n in range(PER_COMMUNITY):
                    person = tg.person(f"P{c}-{n}", language_code="en")
                    tg.set_status(group, person, "member")
                    await people.seen(conn, user_id=person.id, name=person.first_name,
                                      username=None, now=START)
                    await memberships.ensure(conn, community.id, person.id, START)
                    unit = await units.ensure(conn, community.id,
                                              UnitAddress.parse(f"1-1-{101 + n}"), START)
                    await residents.request(conn, community_id=community.id, user_id=person.id,
                                            unit_id=unit.id, relation=Relation.OWNER,
                                            area_claimed=None, now=START,
                                            status=ResidentStatus.VERIFIED)
        # A poll in the first building, posted there, that anyone in the group may vote on.
        async with db.transaction() as conn:
            first = await communities.by_chat(conn, groups[0].id)
            assert first is not None
            poll = await poll_store.create(
                conn, community_id=first.id, now=START, question="Repaint?",
                options=["Yes", "No", "Abstain"], multiple=False, max_choices=1,
                deadline=START + timedelta(days=30), audience="members", weighting="person",
                rule="plurality", live_results=True)
            post = tg.api._new_message(groups[0].as_chat(), tg.api.bot, text="P-1")
            await poll_store.set_post(conn, poll.id, groups[0].id, post["message_id"], "")
    finally:
        await db.close()
    return groups, (poll.id, post)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _once() -> tuple[float, float]:
    async with fake_api() as api:
        tg = Telegram(api)
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'footprint.db'}"
            groups, (poll_id, post) = await _populate(url, tg)
            config = Path(folder) / "config.toml"
            config.write_text(
                f'[telegram]\nbase_url = "{api.base_url}"\n'
                f'base_file_url = "{api.base_file_url}"\n[storage]\nurl = "{url}"\n'
                '[polls]\ntally_refresh_seconds = 5\n')
            # Bytecode as an installed copy has it (pip compiles at install); a machine
            # that sets PYTHONDONTWRITEBYTECODE would otherwise compile yishi every start.
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("YISHI_") and k != "PYTHONDONTWRITEBYTECODE"}
            env["YISHI_TELEGRAM__TOKEN"] = api.token
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(config), cwd=ROOT,
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            try:
                await api.first_poll.wait()
                to_first_poll = api.first_poll_at - started
                # The vote burst: 1,000 members of the first building vote at once.
                mark = api.mark()
                for n in range(1000):
                    voter = tg.person(f"V{n}", language_code="en")
                    tg.set_status(groups[0], voter, "member")
                    await tg.press(voter, post, poll_buttons.VOTE.data(poll_id, n % 3))
                await api.wait_count("answerCallbackQuery", 1000, after=mark, timeout=600)
                rss = _rss_mb(process.pid)
            finally:
                process.send_signal(signal.SIGINT)
                await asyncio.wait_for(process.wait(), 60)
    return to_first_poll, rss


def _compile() -> None:
    for package in ("bot", "handlers", "storage"):
        compileall.compile_dir(ROOT / package, quiet=1)


async def run(runs: int = 3) -> str:
    _compile()
    measured = [await _once() for _ in range(runs)]
    return table(f"Footprint: {COMMUNITIES * PER_COMMUNITY:,} residents in {COMMUNITIES} "
                 f"communities (median of {runs} runs)", [
        ("start to first getUpdates", f"{median([m[0] for m in measured]):.2f} s", "<= 2 s"),
        ("RSS after a burst of 1,000 votes", f"{median([m[1] for m in measured]):.0f} MB",
         "<= 150 MB"),
    ])
