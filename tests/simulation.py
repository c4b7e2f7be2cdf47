"""An eight-week building, simulated end to end: residents, moderators and handlers act
through the fake Bot API as people would, the clock moves hour by hour with the
scheduler ticking, and the bot is restarted on the way. What the bot did is then checked
against the database and against what the fake Telegram recorded.

Used by tests/test_simulation.py (CI size) and scripts/simulate.py (any size, prints
the building's month as a table).

Where it stands: residents (300, three buildings, owners with areas, tenants, families,
some who never started the bot), reports (filed with photos, handled on time or left to
pass their limits, resolved, confirmed, reopened, never confirmed), topics (proposed,
approved, rejected, supported), polls on the most supported topics (voted on, votes
changed, closed at their deadlines), weekly summaries and two restarts are simulated.
Not yet: decisions and their progress, announcements, proxy votes, merges, secret and
Civil Code polls, a poll that fails quorum, polls selected from the roundup, restarts by
SIGKILL rather than a clean stop, and the recount of each result against the ballots.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.domain.quiet_hours import QuietHours
from bot.domain.topics import TopicStatus
from bot.fakeapi.actions import Group, Person, Telegram
from bot.fakeapi.server import Call, FakeBotApi
from storage import due_work, summaries
from storage import polls as poll_store
from storage import reports as report_store
from storage import topics as topic_store
from storage.schema import due_work as due_table
from storage.schema import report_events
from tests.helpers import community as find_community

ZONE = ZoneInfo("Asia/Shanghai")
QUIET = QuietHours.parse("22:00-07:30")
CATEGORIES = ("lift", "water", "electricity", "cleaning")
# A simulated day passes in seconds, so Telegram's real-time limits (30 messages a second,
# 20 a minute per group) are scaled for the simulation in proportion.
SPEEDUP = 100
SEND_METHODS = ("sendMessage", "sendPhoto", "sendMediaGroup", "sendDocument")
TERMINAL_REPORTS = {"closed", "rejected"}
TERMINAL_TOPICS = {"rejected", "merged", "decided", "closed", "selected_meeting"}


@dataclass
class Resident:
    person: Person
    unit: str
    relation: str
    area: float | None
    started: bool


@dataclass
class Figures:
    """What happened, counted as it happened (the table's raw material)."""

    actions: Counter[str] = field(default_factory=Counter)
    sends_by_week: Counter[int] = field(default_factory=Counter)
    group_by_week: Counter[int] = field(default_factory=Counter)
    quiet_sends: list[str] = field(default_factory=list)
    restarts: int = 0


class Simulation:
    def __init__(self, bot: Any, api: FakeBotApi, tg: Telegram, *, seed: int = 8,
                 residents: int = 300, weeks: int = 8, restart_on: tuple[int, ...] = (17, 38)
                 ) -> None:
        self.bot, self.api, self.tg = bot, api, tg
        self.clock = bot.clock
        self.rng = random.Random(seed)
        self.size = residents
        self.weeks = weeks
        self.restart_on = restart_on  # days on which the bot is restarted
        self.figures = Figures()
        self.residents: list[Resident] = []
        self.moderators: list[Person] = []
        self.handlers: dict[str, Person] = {}
        self.group: Group | None = None
        self.community_id = 0
        self.start: datetime = self.clock.now()
        self._seen_calls = 0
        self.polls: list[Call] = []

    # ------------------------------------------------------------------ the building

    async def set_up(self) -> None:
        tg, api = self.tg, self.api
        chair = tg.person("Chair", username="chair", language_code="en")
        group = tg.group("Sim Gardens")
        self.group = group
        mark = api.mark()
        await tg.add_bot(group, chair, as_admin=True)
        await api.wait_for("sendMessage", after=mark)
        stored = await find_community(self.bot, group.id)
        assert stored is not None
        self.community_id = stored.id
        self.moderators = [chair] + [
            tg.person(f"Mod{n}", username=f"mod{n}", language_code="en") for n in (2, 3)]
        for moderator in self.moderators[1:]:
            tg.set_status(group, moderator, "administrator")
        for n, category in enumerate(CATEGORIES):
            self.handlers[category] = tg.person(f"Fixer{n}", username=f"fixer{n}",
                                                language_code="en")
        lines = []
        for n in range(self.size):
            building = n % 3 + 1
            unit = f"{building}-{n // 60 % 2 + 1}-{(n // 3) % 20 + 1:02d}{n % 3 + 1:02d}"
            kind = ("owner", "owner", "owner", "tenant", "family")[n % 5]
            area = round(60 + self.rng.random() * 80, 1) if kind == "owner" else None
            person = tg.person(f"R{n}", username=f"r{n}", language_code="en")
            self.residents.append(Resident(person, unit, kind, area,
                                           started=self.rng.random() < 0.8))
            lines.append(f"{unit},{person.id},{kind},{area or ''}")
        everyone = [*self.moderators, *self.handlers.values(),
                    *(r.person for r in self.residents)]
        for person in everyone:
            await tg.say(group, person, "你好")
        await self._settle()
        for person in [*self.moderators, *self.handlers.values()] + [
                r.person for r in self.residents if r.started]:
            mark = api.mark()
            await tg.say(person, person, "/start")
            await api.wait_for("sendMessage", after=mark,
                               where=lambda c, p=person: c.chat_id == p.id)
        for category, handler in self.handlers.items():
            await self._command(group, chair, f"/role @{handler.username} handler {category}")
        mark = api.mark()
        await tg.send_document(chair, chair, "roster.csv", "\n".join(lines).encode())
        await api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id == chair.id,
                           timeout=60)

    async def _command(self, where: Any, who: Person, text: str) -> Call:
        mark = self.api.mark()
        await self.tg.say(where, who, text)
        return await self.api.wait_for("sendMessage", after=mark, timeout=20)

    async def _settle(self) -> None:
        """Let the bot finish what it is doing (it answers everything it is sent)."""
        await self.bot.app.update_persistence()

    # ------------------------------------------------------------------ time

    async def run(self) -> None:
        for day in range(self.weeks * 7):
            await self._morning(day)
            for _hour in range(24):
                await self._hour()
            if day in self.restart_on:
                await self.bot.restart()
                self.figures.restarts += 1

    async def _hour(self) -> None:
        self.clock.advance(timedelta(hours=1))
        await self.bot.tick()
        self._account()

    def _account(self) -> None:
        """Attribute what the bot sent since the last look to the hour now ending."""
        now = self.clock.now()
        week = int((now - self.start) / timedelta(weeks=1))
        for call in self.api.calls[self._seen_calls:]:
            if call.method in SEND_METHODS and call.error is None:
                self.figures.sends_by_week[week] += 1
                if call.chat_id == self.group.id:
                    self.figures.group_by_week[week] += 1
                if call.chat_id == self.group.id and QUIET.is_quiet(now, ZONE):
                    self.figures.quiet_sends.append(f"{now:%m-%d %H:%M} {call.method}")
        self._seen_calls = len(self.api.calls)

    # ------------------------------------------------------------------ a day

    async def _morning(self, day: int) -> None:
        """What people do on one day, at about ten in the morning."""
        self._account()
        rng = self.rng
        if rng.random() < 0.72:
            await self._file_report()
        await self._handle_reports(day)
        await self._answer_fixed()
        if day % 7 in (1, 3) and rng.random() < 0.9:
            await self._propose_topic()
        await self._moderate_topics()
        await self._support_topics()
        if day % 7 == 1 and day > 1:
            await self._open_poll()
        await self._vote()
        self._account()

    # --- reports ---------------------------------------------------------------------

    async def _file_report(self) -> None:
        from tests.test_reports import _file

        who = self.rng.choice([r for r in self.residents if r.started]).person
        category = self.rng.choice(CATEGORIES)
        await _file(self.api, self.tg, self.group, who, self.community_id,
                    album=self.rng.choice((1, 2, 3)), category=category,
                    description=f"Problem with the {category} (day {self.clock.now():%d})")
        self.figures.actions["report filed"] += 1

    async def _cards(self, handler: Person) -> dict[int, Call]:
        """The newest card of each report a handler was sent, by report id."""
        cards: dict[int, Call] = {}
        for call in self.api.sent("sendPhoto", chat_id=handler.id) + self.api.sent(
                chat_id=handler.id):
            for button in call.buttons:
                data = button.get("callback_data", "")
                if data.startswith("rh:"):
                    cards[int(data.split(":")[1])] = call
        return cards

    async def _handle_reports(self, day: int) -> None:
        """Each handler works through some of their open reports; some are left to pass
        their limits."""
        async with self.bot.services.db.transaction() as conn:
            open_reports = await report_store.open_in(conn, self.community_id)
        for report in open_reports:
            handler = self.handlers.get(report.category)
            if handler is None or self.rng.random() < 0.35:
                continue  # left alone today
            cards = await self._cards(handler)
            card = cards.get(report.id)
            if card is None:
                continue
            action = {"new": "ack", "acknowledged": "start", "in_progress": "resolve",
                      "reopened": "resolve"}.get(report.status.value)
            if action is None:
                continue
            mark = self.api.mark()
            await self.tg.press(handler, card, f"rh:{report.id}:{action}")
            if action == "resolve":
                await self.api.wait_for("sendMessage", after=mark,
                                        where=lambda c, h=handler: c.chat_id == h.id)
                mark = self.api.mark()
                await self.tg.say(handler, handler, "已处理。")
                await self.api.wait_for("sendMessage", after=mark,
                                        where=lambda c, h=handler: c.chat_id == h.id)
                self.figures.actions["report resolved"] += 1
            else:
                await self.api.wait_for("answerCallbackQuery", after=mark)
                self.figures.actions[f"report {action}"] += 1

    async def _answer_fixed(self) -> None:
        """Reporters answer "is it fixed?": most yes, some no, some never."""
        for resident in self.residents:
            person = resident.person
            for call in self.api.sent(chat_id=person.id):
                asks = [b["callback_data"] for b in call.buttons
                        if b.get("callback_data", "").startswith("rf:")
                        and b["callback_data"].endswith(":yes")]
                if not asks or call.params.get("_answered"):
                    continue
                call.params["_answered"] = True
                roll = self.rng.random()
                if roll < 0.25:
                    self.figures.actions["fixed? never answered"] += 1
                    continue
                report_id = int(asks[0].split(":")[1])
                answer = "yes" if roll < 0.85 else "no"
                mark = self.api.mark()
                await self.tg.press(person, call, f"rf:{report_id}:{answer}")
                await self.api.wait_for("answerCallbackQuery", after=mark)
                self.figures.actions[f"fixed? {answer}"] += 1

    # --- topics ----------------------------------------------------------------------

    async def _propose_topic(self) -> None:
        from tests.test_topics import _propose

        who = self.rng.choice([r for r in self.residents if r.started]).person
        title = self.rng.choice(("Fix the gate", "More bike racks", "Paint the lobby",
                                 "Quiet hours for renovation", "Dog park", "Better lights",
                                 "Recycling bins", "Lift maintenance plan"))
        await _propose(self.api, self.tg, who, title=f"{title} {self.clock.now():%m%d}",
                       anonymous=self.rng.random() < 0.3)
        self.figures.actions["topic proposed"] += 1

    async def _moderate_topics(self) -> None:
        chair = self.moderators[0]
        for call in self.api.sent(chat_id=chair.id):
            data = [b.get("callback_data", "") for b in call.buttons]
            if not data or not data[0].startswith("tp:") or call.params.get("_moderated"):
                continue
            call.params["_moderated"] = True
            topic_id = int(data[0].split(":")[1])
            approve = self.rng.random() < 0.85
            mark = self.api.mark()
            await self.tg.press(chair, call, f"tp:{topic_id}:{'ok' if approve else 'no'}")
            if approve:
                await self.api.wait_for("sendMessage", after=mark,
                                        where=lambda c: c.chat_id == self.group.id)
                self.figures.actions["topic approved"] += 1
            else:
                await self.api.wait_for("sendMessage", after=mark,
                                        where=lambda c: c.chat_id == chair.id)
                mark = self.api.mark()
                await self.tg.say(chair, chair, "Not for the building to decide.")
                await self.api.wait_for("sendMessage", after=mark)
                self.figures.actions["topic rejected"] += 1

    async def _support_topics(self) -> None:
        posts = [c for c in self.api.sent(chat_id=self.group.id)
                 if c.buttons and c.buttons[0].get("callback_data", "").startswith("sp:")]
        for post in posts[-3:]:
            data = post.buttons[0]["callback_data"]
            for resident in self.rng.sample(self.residents, 6):
                mark = self.api.mark()
                await self.tg.press(resident.person, post, data)
                await self.api.wait_for("answerCallbackQuery", after=mark)
                self.figures.actions["support pressed"] += 1

    # --- polls -----------------------------------------------------------------------

    async def _open_poll(self) -> None:
        from tests.test_polls import _create

        async with self.bot.services.db.transaction() as conn:
            ranked = await topic_store.listed(conn, self.community_id, tuple(TopicStatus))
        ranked = sorted((t for t in ranked if t[0].status is TopicStatus.OPEN),
                        key=lambda t: -t[1])
        question = ranked[0][0].title if ranked else "Repaint the lobby?"
        post, _controls, _preview = await _create(
            self.api, self.tg, self.group, self.moderators[0], self.community_id,
            question=f"{question}?", deadline="5d")
        self.polls.append(post)
        self.figures.actions["poll opened"] += 1

    async def _vote(self) -> None:
        for post in self.polls:
            poll_id = int(post.buttons[0]["callback_data"].split(":")[1])
            async with self.bot.services.db.transaction() as conn:
                poll = await poll_store.get(conn, poll_id)
            if poll is None or poll.status.value != "open":
                continue
            for resident in self.rng.sample(self.residents, 25):
                mark = self.api.mark()
                await self.tg.press(resident.person, post,
                                    f"v:{poll_id}:{self.rng.choice((0, 0, 0, 1, 2))}")
                await self.api.wait_for("answerCallbackQuery", after=mark)
                self.figures.actions["vote pressed"] += 1

    # ------------------------------------------------------------------ checking

    async def check(self) -> list[str]:
        """Every loop closed: a list of what leaked (empty when all is well)."""
        problems: list[str] = []
        services = self.bot.services
        now = self.clock.now()
        async with services.db.transaction() as conn:
            reports = await report_store.all_in(conn, self.community_id)
            pending = await due_work.due(conn, now + timedelta(days=3650), 100_000)
            sent_summaries = await summaries.sent_count(conn, self.community_id)
            resolved_ids = {row[0] for row in await conn.execute(
                report_events.select().with_only_columns(report_events.c.report_id).where(
                    report_events.c.status == "resolved"))}
        scheduled = {(w.kind, w.key) for w in pending}
        for report in reports:
            if report.status.value not in TERMINAL_REPORTS and not any(
                    kind.startswith("report_") and key.split(":")[0] == str(report.id)
                    for kind, key in scheduled):
                problems.append(f"{report.ref} is {report.status.value} with nothing "
                                "scheduled")
        for report_id in resolved_ids:
            reporter_asked = [c for c in self.api.calls if c.method in (
                "sendMessage", "editMessageText") and any(
                b.get("callback_data") == f"rf:{report_id}:yes" for b in c.buttons)]
            if not reporter_asked:
                problems.append(f"report {report_id} was resolved but its reporter was "
                                "never asked whether it is fixed")
        async with services.db.transaction() as conn:
            polls = [await poll_store.get(conn, int(p.buttons[0]["callback_data"].split(":")[1]))
                     for p in self.polls]
        for poll in polls:
            if poll is None:
                problems.append("a poll the moderators opened is missing")
            elif poll.deadline <= now and (poll.status.value != "closed" or not poll.result):
                problems.append(f"{poll.ref} passed its deadline but is {poll.status.value}")
            elif poll.status.value == "open" and ("poll_close", str(poll.id)) not in scheduled:
                problems.append(f"{poll.ref} is open with no close scheduled")
        if sent_summaries != self.weeks:
            problems.append(f"{sent_summaries} weekly summaries for {self.weeks} weeks")
        problems += [f"sent in quiet hours: {s}" for s in self.figures.quiet_sends]
        problems += [f"Bot API: {v}" for v in self.api.violations]
        return problems

    async def report(self) -> str:
        """The building's weeks as a committee would want to see them."""
        async with self.bot.services.db.transaction() as conn:
            reports = await report_store.all_in(conn, self.community_id)
            timelines = {r.id: await report_store.timeline(conn, r.id) for r in reports}
            topics = await topic_store.listed(conn, self.community_id, tuple(TopicStatus))
            polls = [await poll_store.get(conn, int(p.buttons[0]["callback_data"].split(":")[1]))
                     for p in self.polls]
            counted = {p.id: len(await poll_store.counted(conn, p.id)) for p in polls if p}
            done = Counter(kind for (kind,) in await conn.execute(
                select(due_table.c.kind).where(due_table.c.done_at.is_not(None))))

        def hours(report: Any, status: str) -> float | None:
            first = next((e.at for e in timelines[report.id] if e.status.value == status), None)
            return (first - report.created_at) / timedelta(hours=1) if first else None

        def median_of(values: list[float | None]) -> str:
            known = [v for v in values if v is not None]
            return f"{statistics.median(known):.1f} h" if known else "-"

        rows: list[tuple[str, Any]] = [
            ("residents", len(self.residents)), ("weeks", self.weeks),
            ("restarts", self.figures.restarts)]
        rows += [(f"reports {status}", n) for status, n in sorted(
            Counter(r.status.value for r in reports).items())]
        rows += [("median time to acknowledge", median_of([hours(r, "acknowledged")
                                                           for r in reports])),
                 ("median time to resolve", median_of([hours(r, "resolved") for r in reports]))]
        rows += [(f"topics {status}", n) for status, n in sorted(
            Counter(t.status.value for t, _n in topics).items())]
        rows += [(f"poll {p.ref} ({p.status.value})",
                  f"{counted.get(p.id, 0)} ballots of {len(self.residents)} residents")
                 for p in polls if p]
        rows += [(f"scheduled items run: {kind}", n) for kind, n in sorted(done.items())]
        weekly = [self.figures.group_by_week[w] for w in range(self.weeks)]
        rows.append(("bot messages in the group per week",
                     ", ".join(str(n) for n in weekly)))
        rows += [(f"people's actions: {name}", n)
                 for name, n in sorted(self.figures.actions.items())]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)

    def table(self) -> str:
        rows = sorted(self.figures.actions.items())
        weekly = [self.figures.sends_by_week[w] for w in range(self.weeks)]
        rows.append(("messages per week (median)", statistics.median(weekly) if weekly else 0))
        rows.append(("restarts", self.figures.restarts))
        width = max(len(str(name)) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
