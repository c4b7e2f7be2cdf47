"""Stream: 6,000 updates from sixty people in two groups and in private (commands,
chatter, stickers) arrive at once, then a newcomer sends /start. How long until they are
answered, and how many of the bot's messages went before the answer, against the fake
Bot API counting Telegram's limits strictly. The issue behind it saw /start wait 56 s."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from bench.common import fake_api, median, running_bot, table
from bot.fakeapi.actions import Telegram
from bot.fakeapi.harness import push_stream
from storage import people

UPDATES = 6000
PEOPLE = 60


async def _known(bot: Any, persons: list[Any]) -> None:
    """Wait until the bot has noted everyone who said hello."""
    for _ in range(600):
        async with bot.services.db.transaction() as conn:
            if all([await people.get(conn, p.id) is not None for p in persons]):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot did not note everyone who said hello")


async def _once(updates: int) -> dict[str, float]:
    rnd = random.Random(18)
    async with fake_api() as api, running_bot(api) as (bot, _db):
        tg = Telegram(api)
        groups = []
        for title in ("Elm House", "Oak House"):
            owner, group = tg.person(f"Owner of {title}", language_code="en"), tg.group(title)
            mark = api.mark()
            await tg.add_bot(group, owner)
            await api.wait_for("sendMessage", after=mark)
            groups.append(group)
        persons = [tg.person(f"P{n}", language_code=rnd.choice(["en", "zh-hans"]))
                   for n in range(PEOPLE)]
        half = PEOPLE // 2
        for group, members in ((groups[0], persons[:half]), (groups[1], persons[half:])):
            for person in members:
                await tg.say(group, person, "hello")
            await _known(bot, members)
        await push_stream(tg, groups, persons, updates, rnd)
        newcomer = tg.person("Newcomer", language_code="en")
        mark = api.mark()
        started = time.monotonic()
        await tg.say(newcomer, newcomer, "/start")
        hello = await api.wait_for("sendMessage", after=mark, timeout=120,
                                   where=lambda c: c.chat_id == newcomer.id)
        waited = hello.at - started
        before = [c for c in api.sent(after=mark) if c.at < hello.at]
        refused = [c for c in api.calls if c.error and "Too Many Requests" in c.error]
        stopping = time.monotonic()
        await bot.stop()
        return {"waited": waited, "before": len(before), "429": len(refused),
                "stop": time.monotonic() - stopping, "violations": len(api.violations)}


async def run(runs: int = 3, updates: int = UPDATES) -> str:
    results = [await _once(updates) for _ in range(runs)]
    return table(f"Stream: {updates} updates from {PEOPLE} people at once, then a "
                 f"newcomer's /start (median of {runs} runs)", [
        ("/start answered after", f"{median([r['waited'] for r in results]):.1f} s",
         "a few seconds"),
        ("the bot's messages before the answer",
         f"{median([r['before'] for r in results]):.0f}", ""),
        ("stopping the bot took", f"{median([r['stop'] for r in results]):.1f} s", ""),
        ("429 responses", str(sum(int(r["429"]) for r in results)), "0"),
        ("Bot API violations", str(sum(int(r["violations"]) for r in results)), "0"),
    ])
