"""Fan-out: the weekly summaries (text and chart) of 600 communities fall due in the same
minute. How long until the last is out, against the floor Telegram's limits allow (all
messages at 30 a second, no group above 20 a minute), and how many 429s came back from
the fake Bot API, which counts Telegram's limits as strict windows.

Each building's last weeks differ by its number (``shapes`` distinct charts): run once
with every chart different (the worst case: 600 charts drawn), and once with 30 shapes
(buildings with the same weeks share one drawing, sent again by its file id)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from bench.common import fake_api, median, running_bot, table
from bot.domain.quiet_hours import QuietHours
from bot.fakeapi.actions import Telegram
from handlers.summary import arm_all
from storage import communities
from storage import reports as report_store

COMMUNITIES = 600
SUNDAY_20 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai


async def _once(count: int, shapes: int) -> dict[str, float]:
    async with fake_api() as api, running_bot(api, summary={"enabled": True}) as (bot, _db):
        tg = Telegram(api)
        groups = []
        now = bot.clock.now()
        async with bot.services.db.transaction() as conn:
            for n in range(count):
                group = tg.group(f"Building {n}")
                api.members[(group.id, api.bot["id"])] = "member"
                community, _ = await communities.activate(
                    conn, chat_id=group.id, title=group.title, language="zh",
                    timezone="Asia/Shanghai", quiet_hours=QuietHours.parse("22:00-07:30"),
                    now=now)
                # One report this week, so every summary has figures and a chart, and
                # 0-3 in each earlier week by the digits of the building's shape.
                shape = n % shapes
                for back in range(7):
                    for _ in range(1 if back == 0 else shape // 4 ** (back - 1) % 4):
                        await report_store.create(
                            conn, community_id=community.id,
                            now=SUNDAY_20 - timedelta(days=2, weeks=back), photos=[],
                            category="water", description="Leak", voice_file_id=None,
                            where_text="Lobby", unit_id=None, latitude=None,
                            longitude=None, reporter_id=None, anonymous=False)
                groups.append(group.id)
        await arm_all(bot.app)
        bot.clock.set(SUNDAY_20)
        mark = api.mark()
        started = time.monotonic()
        while len(api.sent("sendPhoto", after=mark)) < count:
            await bot.tick()
        elapsed = time.monotonic() - started
        sent = api.sent(after=mark) + api.sent("sendPhoto", after=mark)
        refused = [c for c in api.calls[mark:] if c.error and "Too Many Requests" in c.error]
        floor = max(len(sent) / 30, 60 * (2 - 1) / 20)  # 2 messages per group fit a minute
        return {"elapsed": elapsed, "messages": len(sent), "floor": floor,
                "429": len(refused), "violations": len(api.violations)}


async def run(runs: int = 3, count: int = COMMUNITIES) -> str:
    return "\n\n".join([await _table(runs, count, count), await _table(runs, count, 30)])


async def _table(runs: int, count: int, shapes: int) -> str:
    results = [await _once(count, shapes) for _ in range(runs)]
    elapsed = median([r["elapsed"] for r in results])
    floor = median([r["floor"] for r in results])
    return table(f"Fan-out: weekly summaries of {count} communities due at once, "
                 f"{shapes} distinct charts (median of {runs} runs)", [
        ("messages sent (text + chart)", f"{median([r['messages'] for r in results]):.0f}",
         f"{2 * count}"),
        ("time to the last", f"{elapsed:.1f} s", ""),
        ("floor under Telegram's limits", f"{floor:.1f} s", ""),
        ("throughput / the limits' throughput", f"{floor / elapsed:.2f}", ">= 0.95"),
        ("429 responses", str(sum(int(r["429"]) for r in results)), "0"),
        ("Bot API violations", str(sum(int(r["violations"]) for r in results)), "0"),
    ])
