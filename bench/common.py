"""What the benchmarks share: a fake Bot API server, a running yishi on a fresh database,
and a building with many verified residents loaded straight into storage."""

from __future__ import annotations

import gc
import statistics
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.domain.households import Relation
from bot.domain.quiet_hours import QuietHours
from bot.domain.residents import ResidentStatus
from bot.domain.units import UnitAddress
from bot.fakeapi.actions import Telegram
from bot.fakeapi.harness import RunningBot, make_settings
from bot.fakeapi.server import FakeBotApi
from storage import communities, memberships, people, residents, units
from storage import reports as report_store

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@asynccontextmanager
async def fake_api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


@asynccontextmanager
async def running_bot(api: FakeBotApi, **sections: dict[str, Any]) -> AsyncIterator[
        tuple[RunningBot, Path]]:
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "bench.db"
        bot = RunningBot(api, make_settings(api, db_path, **sections), ManualClock(START))
        await bot.start()
        gc.freeze()  # as `yishi run` does once it is up (bot/app.py)
        try:
            yield bot, db_path
        finally:
            await bot.stop()
            gc.unfreeze()


async def load_residents(bot: RunningBot, tg: Telegram, community_id: int, group: Any,
                         count: int, *, first: int = 0) -> list[Any]:
    """``count`` verified owners, one unit each, known to the bot and members of the group
    (as Telegram would say), written in one transaction."""
    persons = [tg.person(f"R{first + n}", language_code="en") for n in range(count)]
    now = START
    async with bot.services.db.transaction() as conn:
        for n, person in enumerate(persons):
            tg.set_status(group, person, "member")
            await people.seen(conn, user_id=person.id, name=person.first_name, username=None,
                              now=now)
            await memberships.ensure(conn, community_id, person.id, now)
            number = first + n
            unit = await units.ensure(conn, community_id, UnitAddress.parse(
                f"{number // 1000 + 1}-{number // 100 % 10 + 1}-{number % 100 + 101}"), now)
            await residents.request(conn, community_id=community_id, user_id=person.id,
                                    unit_id=unit.id, relation=Relation.OWNER,
                                    area_claimed=None, now=now, status=ResidentStatus.VERIFIED)
    return persons


async def add_building(conn: Any, api: FakeBotApi, tg: Telegram, n: int, now: datetime
                       ) -> tuple[Any, Any]:
    """Building ``n``: a group with the bot in it, active as a community (Chinese, Shanghai
    time); returns the group and the community."""
    group = tg.group(f"Building {n}")
    api.members[(group.id, api.bot["id"])] = "member"
    community, _ = await communities.activate(
        conn, chat_id=group.id, title=group.title, language="zh", timezone="Asia/Shanghai",
        quiet_hours=QuietHours.parse("22:00-07:30"), now=now)
    return group, community


async def add_report(conn: Any, community_id: int, at: datetime) -> None:
    """A leak in the lobby, reported at ``at``."""
    await report_store.create(
        conn, community_id=community_id, now=at, photos=[], category="water",
        description="Leak", voice_file_id=None, where_text="Lobby", unit_id=None,
        latitude=None, longitude=None, reporter_id=None, anonymous=False)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(title: str, rows: list[tuple[str, str, str]]) -> str:
    """Rows of (figure, measured, target) as an aligned text table."""
    width = [max(len(r[i]) for r in [("figure", "measured", "target"), *rows]) for i in range(3)]
    line = "  ".join("-" * w for w in width)
    out = [title, line, "  ".join(h.ljust(w) for h, w in zip(
        ("figure", "measured", "target"), width, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)) for r in rows]
    return "\n".join(out)
