"""Answers: 200 people send a command at the same moment, half of them in private
(/help) and half in ten groups (/polls, ten people a group), against the fake Bot API
counting Telegram's limits strictly. Every one must be answered with no 429; the figure
is how long the last answer took against the floor Telegram's limits allow (30 messages
a second overall, 20 a minute in a group, which ten a group stays under)."""

from __future__ import annotations

import asyncio
import time

from bench.common import fake_api, median, running_bot, table
from bot.fakeapi.actions import Telegram
from bot.sending import OVERALL_PER_SECOND

PEOPLE = 200
GROUPS = 10


async def _once(people: int) -> dict[str, float]:
    async with fake_api() as api, running_bot(api) as (_bot, _db):
        tg = Telegram(api)
        groups = []
        for n in range(GROUPS):
            owner, group = tg.person(f"Owner {n}", language_code="en"), tg.group(f"House {n}")
            mark = api.mark()
            await tg.add_bot(group, owner)
            await api.wait_for("sendMessage", after=mark)
            groups.append(group)
        persons = [tg.person(f"P{n}", language_code="en") for n in range(people)]
        # The groups' welcomes count in Telegram's windows: let the last second pass.
        await asyncio.sleep(1.1)
        mark = api.mark()
        started = time.monotonic()
        for n, person in enumerate(persons):
            if n % 2:
                await tg.say(groups[(n // 2) % GROUPS], person, "/polls")
            else:
                await tg.say(person, person, "/help")
        answered = await api.wait_count("sendMessage", people, after=mark, timeout=120)
        last = max(c.at for c in answered) - started
        refused = [c for c in api.calls[mark:] if c.error and "Too Many Requests" in c.error]
        return {"answers": len(answered), "last": last, "floor": people / OVERALL_PER_SECOND,
                "429": len(refused), "violations": len(api.violations)}


async def run(runs: int = 3, people: int = PEOPLE) -> str:
    results = [await _once(people) for _ in range(runs)]
    last, floor = median([r["last"] for r in results]), results[0]["floor"]
    return table(f"Answers: {people} commands at once, half in private and half in "
                 f"{GROUPS} groups (median of {runs} runs)", [
        ("answers sent (each run)", ", ".join(f"{r['answers']:.0f}" for r in results),
         f"{people} each"),
        ("time to the last answer", f"{last:.1f} s", ""),
        ("floor under Telegram's limits", f"{floor:.1f} s", ""),
        ("floor / time to the last", f"{floor / last:.2f}", ""),
        ("429 responses", str(sum(int(r["429"]) for r in results)), "0"),
        ("Bot API violations", str(sum(int(r["violations"]) for r in results)), "0"),
    ])
