"""Deployments: the same vote burst and the same scheduled fan-out through one `yishi run`
on SQLite, one on PostgreSQL, and three sharing the bot on PostgreSQL ([instances]
shared) behind a round robin. Each is a real process taking updates by webhook, which
Telegram posts one at a time; the fake Bot API counts Telegram's limits as strict windows.

- Votes: ``VOTERS`` members of one group press a poll's buttons at once; votes a second
  from the first press to the last answer.
- Scheduled messages: the weekly summaries (a text and a chart each) of ``GROUPS``
  buildings fall due together; messages a second from the clock reaching Sunday 20:00 to
  the last chart. Telegram allows 30 a second for the whole bot, however many processes
  send: the figure to read is how close each comes to it, and that three processes
  together stay under it (0 x 429).

PostgreSQL is the server in YISHI_TEST_POSTGRES (by default the local one); without one,
its rows say so.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import add_building, add_report, fake_api, median, table
from bot.fakeapi.actions import Telegram
from bot.fakeapi.deployment import START, Deployment, database
from bot.fakeapi.harness import POSTGRES, create_poll, poll_id_of
from handlers.polls import callbacks as poll_buttons
from storage.migrate import upgrade
from storage.postgres import fresh_database

VOTERS = 300
GROUPS = 60
SUNDAY_20 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SETUPS = (("1 x SQLite", "sqlite", 1, False), ("1 x PostgreSQL", "postgres", 1, False),
          ("3 x PostgreSQL, shared", "postgres", 3, True))


@asynccontextmanager
async def _store(kind: str, folder: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        return
    async with fresh_database(os.environ.get(POSTGRES) or LOCAL_POSTGRES) as url:
        yield url


async def _seed(api: Any, tg: Telegram, url: str) -> list[int]:
    """``GROUPS`` buildings with a report this week each, before the bot starts (which
    arms their summaries)."""
    groups = []
    async with database(url) as db:
        await upgrade(db)
        async with db.transaction() as conn:
            for n in range(GROUPS):
                group, community = await add_building(conn, api, tg, n, START)
                await add_report(conn, community.id, SUNDAY_20 - timedelta(days=2))
                groups.append(group.id)
    return groups


async def _wait(condition: Any, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the deployment did not finish in time")
        await asyncio.sleep(0.02)


async def _once(kind: str, count: int, shared: bool) -> dict[str, float]:
    async with fake_api() as api:
        api.speedup = 1
        tg = Telegram(api)
        with tempfile.TemporaryDirectory() as folder:
            async with _store(kind, Path(folder)) as url:
                buildings = set(await _seed(api, tg, url))
                deployment = Deployment(api, url, Path(folder), count, shared=shared)
                try:
                    await deployment.start()
                    return await _measure(api, tg, deployment, buildings)
                finally:
                    await deployment.stop()


async def _measure(api: Any, tg: Telegram, deployment: Deployment,
                   buildings: set[int]) -> dict[str, float]:
    owner = tg.person("Owner", language_code="en")
    group = tg.group("Elm House")
    mark = api.mark()
    await tg.add_bot(group, owner)
    await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == group.id,
                       timeout=60)
    post, _controls, _preview = await create_poll(api, tg, group, owner, GROUPS + 1,
                                                  deadline="3d", settings=("audience",) * 3)
    poll = poll_id_of(post)
    voters = [tg.person(f"V{n}", language_code="en") for n in range(VOTERS)]
    for voter in voters:
        tg.set_status(group, voter, "member")
    await deployment.settled()

    mark = api.mark()
    started = time.monotonic()
    for n, voter in enumerate(voters):
        await tg.press(voter, post, poll_buttons.VOTE.data(poll, n % 3))
    await _wait(lambda: len(api.sent("answerCallbackQuery", after=mark)) >= VOTERS)
    votes = time.monotonic() - started
    await deployment.settled()

    mark = api.mark()
    started = time.monotonic()
    deployment.set_clock(SUNDAY_20)
    await _wait(lambda: len([c for c in api.sent("sendPhoto", after=mark)
                             if c.chat_id in buildings]) >= GROUPS)
    fanout = time.monotonic() - started
    messages = len([c for c in api.calls[mark:] if c.error is None and c.chat_id in buildings
                    and c.method in ("sendMessage", "sendPhoto")])
    refused = [c for c in api.calls if c.error and "Too Many Requests" in c.error]
    VIOLATIONS.extend(api.violations)
    return {"votes": VOTERS / votes, "messages": messages / fanout,
            "sent": messages, "429": len(refused), "violations": len(api.violations)}


# What the fake Bot API objected to, in every run (printed under the table).
VIOLATIONS: list[str] = []


async def run(runs: int = 3) -> str:
    rows = []
    for title, kind, count, shared in SETUPS:
        try:
            results = [await _once(kind, count, shared) for _ in range(runs)]
        except OSError as exc:  # no PostgreSQL server to reach
            rows.append((title, f"skipped: {exc.strerror or exc}", ""))
            continue
        rows += [
            (f"{title}: votes/s", f"{median([r['votes'] for r in results]):.0f}", ""),
            (f"{title}: scheduled messages/s",
             f"{median([r['messages'] for r in results]):.1f}", "<= 30"),
            (f"{title}: messages sent (each run)",
             ", ".join(f"{r['sent']:.0f}" for r in results), f"{2 * GROUPS} each"),
            (f"{title}: 429 responses, violations",
             f"{sum(int(r['429']) for r in results)}, "
             f"{sum(int(r['violations']) for r in results)}", "0, 0"),
        ]
    out = table(f"Deployments by webhook: {VOTERS} votes at once, then {GROUPS} weekly "
                f"summaries due together (median of {runs} runs)", rows)
    kinds = sorted({v: VIOLATIONS.count(v) for v in VIOLATIONS}.items())
    return out + "".join(f"\n  {count} x {violation}" for violation, count in kinds)
