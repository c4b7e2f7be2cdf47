"""The sandbox's building: the local Bot API stand-in, the real bot pointed at it, and a
seeded group of neighbours to play.

Nothing here is a mock of yishi: the application is the one `yishi run` builds, on a
database of its own; only Telegram is replaced, by the same stand-in the tests use.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.app import build_application, start_in_loop, stop_in_loop, tick
from bot.clock import Clock
from bot.config import Settings
from bot.context import YishiApp
from bot.domain.households import Relation
from bot.domain.models import Role
from bot.domain.residents import ResidentStatus
from bot.domain.units import UnitAddress
from bot.fakeapi.actions import Group, Person, Telegram
from bot.fakeapi.server import FakeBotApi
from bot.sandbox import process
from storage import (
    Database,
    communities,
    helping,
    inbox,
    memberships,
    people,
    residents,
    rewards,
    units,
)

log = logging.getLogger(__name__)

# The longest single step of a fast-forward: each step ends with a scheduler tick, so
# reminders, deadlines and escalations happen in the order they would in real time.
STEP = timedelta(hours=1)


class MovableClock(Clock, Protocol):
    def advance(self, delta: timedelta) -> Any: ...


@dataclass(frozen=True)
class Character:
    """Someone the sandbox lets you be."""

    key: str
    names: dict[str, str]  # language -> name
    role: str  # moderator, handler, resident, newcomer
    username: str
    unit: str | None = None
    relation: Relation | None = None
    area: float | None = None


CAST = (
    Character("moderator", {"zh": "李伟", "en": "Li Wei"}, "moderator", "li_wei", "1-1-101",
              Relation.OWNER, 98.5),
    Character("handler", {"zh": "张师傅", "en": "Master Zhang"}, "handler", "zhang_repairs"),
    Character("owner", {"zh": "王芳", "en": "Wang Fang"}, "resident", "wang_fang", "1-1-502",
              Relation.OWNER, 89.0),
    Character("tenant", {"zh": "陈晨", "en": "Chen Chen"}, "resident", "chen_chen", "1-2-301",
              Relation.TENANT),
    Character("owner2", {"zh": "刘洋", "en": "Liu Yang"}, "resident", "liu_yang", "2-1-1203",
              Relation.OWNER, 120.0),
    Character("newcomer", {"zh": "赵敏", "en": "Zhao Min"}, "newcomer", "zhao_min"),
)
# Units on the building's list that nobody in the sandbox has joined yet.
VACANT = ("1-2-702", "2-1-801", "2-2-1501")
GROUP_TITLE = {"zh": "阳光花园业主群", "en": "Sunny Gardens residents"}
REWARDS = {"zh": [("社区活动室优先预约一次", 20, 10), ("停车优惠券（一个月）", 30, 5)],
           "en": [("Priority booking of the community room", 20, 10),
                  ("A month's parking voucher", 30, 5)]}
HELP_TEXT = {"zh": "周六上午需要有人帮我母亲把买的菜搬上五楼。",
             "en": "Someone to carry my mother's groceries up to the fifth floor on Saturday."}


def database_url(database: Path | str) -> str:
    """A file becomes a SQLite URL; a URL (PostgreSQL's) is used as it is."""
    text = str(database)
    return text if "://" in text else f"sqlite+aiosqlite:///{text}"


async def _kept_update_mark(url: str) -> int:
    """The last update id a kept database received (0 for a new one)."""
    if url.startswith("sqlite") and not await asyncio.to_thread(
            Path(url.split(":///", 1)[1]).exists):
        return 0
    db = Database(url)
    try:
        await db.open()
        async with db.transaction() as conn:
            return await inbox.last_received(conn)
    except Exception:  # no schema yet, or not a database of ours: start from the start
        log.info("no update mark in the kept database", exc_info=True)
        return 0
    finally:
        await db.close()


class Sandbox:
    """Start with :meth:`start`, stop with :meth:`stop`; :attr:`api` is the stand-in."""

    def __init__(self, database: Path | str, *, language: str, clock: MovableClock,
                 port: int = 0, routes: Any = None) -> None:
        self.database = database_url(database)
        self.language = language
        self.clock = clock
        self.port = port
        self.api = FakeBotApi(token=f"{secrets.randbelow(10**9) + 10**9}:"
                                    f"{secrets.token_urlsafe(24)}")
        # Messages are dated by the sandbox's clock, so moved time shows on them.
        self.api.now = lambda: clock.now().timestamp()
        self.tg = Telegram(self.api)
        self._routes = routes
        self.app: YishiApp | None = None
        self.people: dict[str, Person] = {}
        self.characters: dict[int, Character] = {}
        self.group: Group | None = None
        self._moving = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        # A kept database has seen updates up to some id: the stand-in numbers on from
        # there, as Telegram does, so the second run's updates are not taken for old ones.
        self.api.continue_after(await _kept_update_mark(self.database))
        await self.api.start(port=self.port, routes=self._routes)
        self.port = self.api.port
        app = build_application(self._settings(), clock=self.clock)
        await start_in_loop(app, poll_timeout=10)
        self.app = app
        await self._seed()

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is not None:
            self.api.release_long_polls()
            await stop_in_loop(app)
        await self.api.stop()

    def _settings(self) -> Settings:
        return Settings(
            telegram={"token": self.api.token, "base_url": self.api.base_url,
                      "base_file_url": self.api.base_file_url},
            storage={"url": self.database},
            scheduler={"tick_seconds": 5},
            community={"language": self.language},
        )

    # ------------------------------------------------------------------ the building

    def name(self, character: Character) -> str:
        return character.names[self.language]

    async def _seed(self) -> None:
        """The group with the bot in it as an administrator, everyone's private chat with
        the bot opened by /start, and the roster (all but the newcomer) verified."""
        language_code = "zh-hans" if self.language == "zh" else "en"
        group = self.tg.group(GROUP_TITLE[self.language])
        self.group = group
        for character in CAST:
            person = self.tg.person(self.name(character), username=character.username,
                                    language_code=language_code)
            self.people[character.key] = person
            self.characters[person.id] = character
            self.tg.set_status(group, person, "creator" if character.role == "moderator"
                               else "member")
        moderator = self.people["moderator"]
        mark = self.api.mark()
        await self.tg.add_bot(group, moderator, as_admin=True)
        await self.api.wait_for("sendMessage", after=mark, timeout=30,
                                where=lambda c: c.chat_id == group.id)
        for person in self.people.values():
            mark = self.api.mark()
            await self.tg.say(person, person, "/start")
            await self.api.wait_for("sendMessage", after=mark, timeout=30,
                                    where=lambda c, p=person: c.chat_id == p.id)
        await self._roster(group)
        await self._ask_for_help(group)
        await self._rewards(group)
        await process.seed(self, group)

    async def _roster(self, group: Group) -> None:
        services = self.services
        now = self.clock.now()
        moderator = self.people["moderator"]
        async with services.db.transaction() as conn:
            community = await communities.by_chat(conn, group.id)
            assert community is not None, "the bot did not create the community"
            for character in CAST:
                person = self.people[character.key]
                await people.seen(conn, user_id=person.id, name=person.first_name,
                                  username=person.username, now=now, started=True)
                await memberships.ensure(conn, community.id, person.id, now)
                if character.role == "handler":
                    await memberships.set_role(conn, community.id, person.id, Role.HANDLER,
                                               moderator.id, now)
                if character.unit is None or character.relation is None:
                    continue
                unit = await units.ensure(conn, community.id, UnitAddress.parse(character.unit),
                                          now)
                if character.area is not None:
                    await units.set_area(conn, unit.id, character.area)
                await residents.request(conn, community_id=community.id, user_id=person.id,
                                        unit_id=unit.id, relation=character.relation,
                                        area_claimed=character.area, now=now,
                                        status=ResidentStatus.VERIFIED, decided_by=moderator.id)
            for address in VACANT:
                await units.ensure(conn, community.id, UnitAddress.parse(address), now)

    async def _ask_for_help(self, group: Group) -> None:
        """Wang Fang asks the group, through /needhelp as anyone would, for someone to
        carry her mother's groceries up in three days (once: a kept database has it)."""
        async with self.services.db.transaction() as conn:
            community = await communities.by_chat(conn, group.id)
            if community is None or await helping.count(conn, community.id):
                return
        asker = self.people["owner"]
        day = (self.clock.now().astimezone(self.timezone) + timedelta(days=3)).date()
        steps: list[str | int] = [
            "/needhelp", 0, HELP_TEXT[self.language], f"{day:%Y-%m-%d} 10:00", 3, 0]
        await process.walk(self, asker, steps)
        await self.api.wait_for("sendMessage", after=0, timeout=30,
                                where=lambda c: c.chat_id == group.id and "H-1" in c.text)

    async def _rewards(self, group: Group) -> None:
        """The committee's catalogue of rewards, as a moderator would keep it."""
        async with self.services.db.transaction() as conn:
            community = await communities.by_chat(conn, group.id)
            if community is None or await rewards.catalogue(conn, community.id):
                return
            for name, price, stock in REWARDS[self.language]:
                await rewards.add(conn, community.id, name, price, stock)

    @property
    def services(self) -> Any:
        assert self.app is not None
        return self.app.bot_data.services

    @property
    def running(self) -> bool:
        return self.app is not None

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self._settings().community.timezone)

    async def verified(self) -> set[int]:
        """Who is on the group's roster now (a newcomer once approved is)."""
        if self.group is None or self.app is None:
            return set()
        async with self.services.db.transaction() as conn:
            community = await communities.by_chat(conn, self.group.id)
            if community is None:
                return set()
            households = await residents.households(conn, community.id)
        return {member.user_id for household in households for member in household.members}

    # ------------------------------------------------------------------ time

    async def fast_forward(self, delta: timedelta) -> None:
        """Move the clock by ``delta`` in steps of at most an hour, running the scheduler
        after each, as the bot would have over that time."""
        assert self.app is not None
        async with self._moving:
            left = delta
            while left > timedelta(0):
                step = min(STEP, left)
                self.clock.advance(step)
                left -= step
                await self.app.update_persistence()
                await tick(self.app)
