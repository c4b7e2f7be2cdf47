"""Scheduler tick: with 10,000 and then 100,000 pending items (poll deadlines, report
limits, decision reminders, announcements), how long one tick takes. The due work is
found through an index, so what a tick costs should follow what is due, not what waits."""

from __future__ import annotations

import time
from datetime import timedelta

from bench.common import START, fake_api, median, running_bot, table
from storage import due_work, inspection

KINDS = ("poll_close", "report_ack", "decision_stale", "announcement")


async def _fill(bot, pending: int, due: int) -> None:
    """``pending`` items in the future and ``due`` items due now, for objects that no longer
    exist (so each handler looks once and finishes, sending nothing)."""
    rows = []
    for n in range(pending + due):
        kind = KINDS[n % len(KINDS)]
        at = START - timedelta(minutes=1) if n < due else START + timedelta(days=1 + n % 30)
        rows.append({"kind": kind, "key": f"b{n}", "due_at": at,
                     "payload": {"poll": 10**9 + n, "report": 10**9 + n,
                                 "decision": 10**9 + n, "announcement": 10**9 + n},
                     "attempts": 0, "done_at": None, "created_at": START})
    async with bot.services.db.transaction() as conn:
        await inspection.add_due_work(conn, rows)


async def _measure(pending: int, due: int) -> tuple[float, float]:
    async with fake_api() as api, running_bot(api) as (bot, _db):
        await _fill(bot, pending, due)
        # What the scheduler itself costs: finding the due items and claiming them, in one
        # transaction, as a tick does (then given back, so the tick below finds them).
        now = bot.clock.now()
        started = time.perf_counter()
        async with bot.services.db.transaction() as conn:
            claimed = await due_work.claim_due(conn, now, now + timedelta(minutes=10),
                                               min(due, 200))
        query = time.perf_counter() - started
        async with bot.services.db.transaction() as conn:
            await inspection.due_again(conn, [w.id for w in claimed],
                                       START - timedelta(minutes=1))
        started = time.perf_counter()
        finished = await bot.tick()
        elapsed = time.perf_counter() - started
        assert finished >= due, (finished, due)
        return query, elapsed


async def run(runs: int = 3) -> str:
    rows = []
    results: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for pending in (10_000, 100_000):
        for due in (100, pending // 100):
            results[(pending, due)] = [await _measure(pending, due) for _ in range(runs)]
    for (pending, due), measured in results.items():
        query = median([m[0] for m in measured]) * 1000
        elapsed = median([m[1] for m in measured]) * 1000
        rows.append((f"{pending:,} pending, {due:,} due: find and claim (<= 200)",
                     f"{query:.1f} ms", "< 50 ms" if due == 100 else ""))
        rows.append((f"{pending:,} pending, {due:,} due: whole tick, handlers included",
                     f"{elapsed:.0f} ms", ""))
    fixed = median([m[1] for m in results[(100_000, 100)]]) / median(
        [m[1] for m in results[(10_000, 100)]])
    rows.append(("tick with 100 due, 100k vs 10k pending", f"{fixed:.2f}x", "<= 1.5x"))
    return table(f"Scheduler tick (median of {runs} runs)", rows)
