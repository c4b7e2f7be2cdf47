"""Fan-out: the weekly summaries (text and chart) of 600 communities fall due in the same
minute. How long until the last is out, against the floor Telegram's limits allow (all
messages at 30 a second, no group above 20 a minute), and how many 429s came back from
the fake Bot API, which counts Telegram's limits as strict windows.

Each building's last weeks differ by its number (``shapes`` distinct charts): run once
with every chart different (the worst case: 600 charts drawn), and once with 30 shapes
(buildings with the same weeks share one drawing, sent again by its file id).

Beside it, in the same run, the same 1,200 messages (a summary's text, then a chart) go
to 600 groups from a bare PTB bot through PTB's stock limiter (``AIORateLimiter``, which
waits out a 429 and sends again) on yishi's own transport: what the stock limiter does
against a server that counts as Telegram counts. It sends one chart drawn once, so the
figure is the limiter's, not the drawing's."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from telegram.ext import AIORateLimiter, Application

from bench.common import add_building, add_report, fake_api, median, running_bot, table
from bot.chart import render
from bot.delivery import IN_FLIGHT
from bot.domain.summary import ChartWeek
from bot.fakeapi.actions import Telegram
from bot.transport import AiohttpRequest
from handlers.summary import arm_all

COMMUNITIES = 600
SUNDAY_20 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai


async def _once(count: int, shapes: int) -> dict[str, float]:
    async with fake_api() as api, running_bot(api, summary={"enabled": True}) as (bot, _db):
        tg = Telegram(api)
        groups = []
        now = bot.clock.now()
        async with bot.services.db.transaction() as conn:
            for n in range(count):
                group, community = await add_building(conn, api, tg, n, now)
                # One report this week, so every summary has figures and a chart, and
                # 0-3 in each earlier week by the digits of the building's shape.
                shape = n % shapes
                for back in range(7):
                    for _ in range(1 if back == 0 else shape // 4 ** (back - 1) % 4):
                        await add_report(conn, community.id,
                                         SUNDAY_20 - timedelta(days=2, weeks=back))
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


async def _stock(count: int) -> dict[str, float]:
    """The same sends from a bare PTB bot through PTB's stock AIORateLimiter."""
    weeks = [ChartWeek(start=SUNDAY_20 - timedelta(weeks=back), opened=back % 4,
                       resolved=back % 3, turnout=None) for back in range(8)]
    chart = await asyncio.to_thread(render, weeks, "zh", "Asia/Shanghai")
    async with fake_api() as api:
        tg = Telegram(api)
        groups = [tg.group(f"Building {n}") for n in range(count)]
        for group in groups:
            api.members[(group.id, api.bot["id"])] = "member"
        app = (Application.builder().token(api.token).base_url(api.base_url)
               .request(AiohttpRequest(connections=2 * IN_FLIGHT))
               .rate_limiter(AIORateLimiter(max_retries=20)).build())
        await app.initialize()
        text = "本周小结 · Building\n新报告 1 件，已解决 0 件\n表决 0 项\n" * 3

        async def summary(chat_id: int) -> None:
            await app.bot.send_message(chat_id, text)
            await app.bot.send_photo(chat_id, chart, caption="近 8 周")

        mark = api.mark()
        started = time.monotonic()
        try:
            await asyncio.gather(*(summary(group.id) for group in groups))
            elapsed = time.monotonic() - started
        finally:
            await app.shutdown()
        sent = api.sent(after=mark) + api.sent("sendPhoto", after=mark)
        refused = [c for c in api.calls[mark:] if c.error and "Too Many Requests" in c.error]
        floor = max(len(sent) / 30, 60 * (2 - 1) / 20)
        return {"elapsed": elapsed, "messages": len(sent), "floor": floor,
                "429": len(refused), "violations": len(api.violations)}


async def run(runs: int = 3, count: int = COMMUNITIES) -> str:
    return "\n\n".join([await _table(runs, count, count), await _table(runs, count, 30),
                         await _stock_table(runs, count)])


async def _stock_table(runs: int, count: int) -> str:
    results = [await _stock(count) for _ in range(runs)]
    return _rows(f"Fan-out beside it: the same {2 * count} messages from a bare PTB bot "
                 f"through PTB's stock AIORateLimiter (median of {runs} runs)", count,
                 results, target=False)


async def _table(runs: int, count: int, shapes: int) -> str:
    results = [await _once(count, shapes) for _ in range(runs)]
    return _rows(f"Fan-out: weekly summaries of {count} communities due at once, "
                 f"{shapes} distinct charts (median of {runs} runs)", count, results)


def _rows(title: str, count: int, results: list[dict[str, float]], *,
          target: bool = True) -> str:
    elapsed = median([r["elapsed"] for r in results])
    floor = median([r["floor"] for r in results])
    return table(title, [
        ("messages sent (text + chart)", f"{median([r['messages'] for r in results]):.0f}",
         f"{2 * count}"),
        ("time to the last", f"{elapsed:.1f} s", ""),
        ("floor under Telegram's limits", f"{floor:.1f} s", ""),
        ("throughput / the limits' throughput", f"{floor / elapsed:.2f}",
         ">= 0.95" if target else ""),
        ("429 responses", str(sum(int(r["429"]) for r in results)), "0" if target else ""),
        ("Bot API violations", str(sum(int(r["violations"]) for r in results)), "0"),
    ])
