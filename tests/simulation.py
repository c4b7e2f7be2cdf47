"""An eight-week building, simulated end to end: residents, moderators and handlers act
through the fake Bot API as people would, the clock moves hour by hour with the
scheduler ticking, and the bot is restarted on the way. What the bot did is then checked
against the database and against what the fake Telegram recorded.

Used by tests/test_simulation.py (CI size) and scripts/simulate.py (any size, prints
the building's month as a table).

Simulated: residents (300, three buildings, flats of owners with areas and their
families, flats let to tenants, some people who never started the bot); reports (filed
with photos, handled on time or left to pass their limits, resolved, confirmed,
reopened, never confirmed); topics (proposed, approved, rejected, merged into the one
they repeat, supported); ten polls: plurality ones put to a vote from the weekly
roundup, Civil Code ordinary (with a turnout drive and paper ballots entered as
proxies), major (which fails its quorum) and secret, voted on, votes changed, closed at
their deadlines; decisions from the polls that passed, with owners, due dates and
progress, one owner going silent; a weekly announcement and a one-off; weekly
summaries; and the bot killed twice while votes pour in (every task abandoned, nothing
flushed or confirmed) and started again on the same database.
"""

from __future__ import annotations

import asyncio
import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.quiet_hours import QuietHours
from bot.domain.topics import TopicStatus
from bot.fakeapi.actions import Group, Person, Telegram
from bot.fakeapi.server import Call, FakeBotApi
from handlers.decisions import callbacks as decision_buttons
from handlers.polls import callbacks as poll_buttons
from handlers.reports import callbacks as report_buttons
from handlers.topics import callbacks as topic_buttons
from storage import due_work, inspection, summaries
from storage import polls as poll_store
from storage import reports as report_store
from storage import topics as topic_store
from tests.helpers import community as find_community

ZONE = ZoneInfo("Asia/Shanghai")
QUIET = QuietHours.parse("22:00-07:30")
CATEGORIES = ("lift", "water", "electricity", "cleaning")
# A simulated day passes in seconds, so Telegram's real-time limits (30 messages a second,
# 20 a minute per group) are scaled for the simulation in proportion.
SPEEDUP = 100
SEND_METHODS = ("sendMessage", "sendPhoto", "sendMediaGroup", "sendDocument")
# The ten polls, opened on Tuesdays and Fridays of weeks two to six, and what they are.
POLL_DAYS = (8, 11, 15, 18, 22, 25, 29, 32, 36, 39)
POLL_KINDS = ("plurality", "civil_ordinary", "secret", "plurality", "civil_major",
              "plurality", "civil_ordinary", "secret", "plurality", "plurality")
POLL_SETTINGS = {"plurality": (), "secret": ("secret",), "civil_ordinary": ("rule", "rule"),
                 "civil_major": ("rule", "rule", "rule")}
ACK_HOURS, RESOLVE_HOURS = {"lift": 4}, {"lift": 24}  # config.example.toml's limits
TERMINAL_DECISIONS = {"done", "cancelled"}
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
        self.poll_kinds: dict[int, str] = {}
        self.controls: dict[int, Call] = {}
        self.silent_owner: int | None = None
        # What the bot sent that people act on, gathered as it arrives (bot/fakeapi keeps
        # every call; scanning all of them for each person each day would dominate the run).
        self._scanned = 0
        self._cards: dict[int, dict[int, Call]] = {}  # handler -> report -> newest card
        self._fixed_asks: list[tuple[int, Call]] = []  # (reporter, "is it fixed?" message)
        self._topic_cards: list[Call] = []  # the chair's topics to approve
        self._support_posts: list[Call] = []  # topic posts in the group
        self._roundup_cards: dict[int, Call] = {}  # topic -> the chair's roundup card

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
            # Two people a flat: an owner and family (or a co-owner); one flat in six is
            # let, to tenants whose landlord lives elsewhere and is not on Telegram.
            flat, second = divmod(n, 2)
            unit = (f"{flat % 3 + 1}-{flat // 3 % 2 + 1}-"
                    f"{flat // 6 % 25 + 1:02d}{flat // 150 + 1:02d}")
            if flat % 6 == 5:
                kind = "tenant"
            else:
                kind = ("owner", "owner" if flat % 4 == 0 else "family")[second]
            if second == 0:
                flat_area = round(60 + self.rng.random() * 80, 1)
            area = flat_area if kind == "owner" else None
            person = tg.person(f"R{n}", username=f"r{n}", language_code="en")
            self.residents.append(Resident(person, unit, kind, area,
                                           started=self.rng.random() < 0.8))
            # The committee's register has every flat's area, let flats included: a Civil
            # Code poll cannot be published without them.
            lines.append(f"{unit},{person.id},{kind},{flat_area}")
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
            for hour in range(24):
                await self._hour()
                if hour == 4:  # 15:00: the handlers' round
                    await self.bot.settled()
                    await self._handle_reports(day)
            if day in self.restart_on:
                await self._killed_mid_burst()

    async def _killed_mid_burst(self) -> None:
        """The bot dies (as by SIGKILL) while votes are pouring in, and starts again on the
        same database: every press must be counted once, none twice."""
        open_posts = [p for p in self.polls if p.buttons]
        if open_posts:
            post = open_posts[-1]
            poll_id = int(post.buttons[0]["callback_data"].split(":")[1])
            for resident in self.rng.sample(self.residents, 12):
                await self.tg.press(resident.person, post,
                                    f"v:{poll_id}:{self.rng.choice((0, 1, 2))}")
            self.figures.actions["vote pressed"] += 12
            await asyncio.sleep(self.rng.uniform(0, 0.05))  # some in hand, some not yet
        await self.bot.crash()
        await self.bot.start()
        await self.bot.settled()
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
        """What residents and moderators do on one day, at about ten in the morning (the
        handlers make their round in the afternoon)."""
        self._account()
        rng = self.rng
        if rng.random() < 0.72:
            await self._file_report()
        await self._answer_fixed()
        if day % 7 in (1, 3) and rng.random() < 0.9:
            await self._propose_topic()
        await self._moderate_topics()
        await self._support_topics()
        if day in POLL_DAYS[:self.weeks * 2]:
            await self._open_poll(POLL_KINDS[POLL_DAYS.index(day)])
        await self._vote()
        await self._run_decisions(day)
        if day == 2:
            await self._announce("Bins go out on Monday morning.", "weekly", "周一 08:00")
        if day == 3:
            when = (self.clock.now() + timedelta(days=2)).astimezone(ZONE)
            await self._announce("Water is off on Thursday 9:00-12:00.", "once",
                                 f"{when:%Y-%m-%d} 08:30")
        self._account()

    def _scan(self) -> None:
        """Take in what the bot sent since the last look."""
        handler_ids = {h.id for h in self.handlers.values()}
        chair = self.moderators[0].id
        for call in self.api.calls[self._scanned:]:
            # What people act on arrives as a new message (edits only change its look).
            if call.error is not None or not call.buttons or call.method not in (
                    "sendMessage", "sendPhoto"):
                continue
            data = [b.get("callback_data", "") for b in call.buttons]
            chat = call.chat_id
            if chat in handler_ids:
                for item in data:
                    if item.startswith("rh:"):
                        self._cards.setdefault(chat, {})[int(item.split(":")[1])] = call
            if any(d.startswith("rf:") and d.endswith(":yes") for d in data):
                self._fixed_asks.append((chat, call))
            if chat == chair and data[0].startswith("tp:"):
                self._topic_cards.append(call)
            if chat == chair and data[0].startswith("ts:") and data[0].endswith(":vote"):
                self._roundup_cards[int(data[0].split(":")[1])] = call
            if chat == self.group.id and data[0].startswith("sp:"):
                self._support_posts.append(call)
        self._scanned = len(self.api.calls)

    # --- reports ---------------------------------------------------------------------

    async def _file_report(self) -> None:
        from tests.test_reports import _file

        who = self.rng.choice([r for r in self.residents if r.started]).person
        category = self.rng.choice(CATEGORIES)
        await _file(self.api, self.tg, self.group, who, self.community_id,
                    album=self.rng.choice((1, 2, 3)), category=category,
                    description=f"Problem with the {category} (day {self.clock.now():%d})")
        self.figures.actions["report filed"] += 1

    async def _handle_reports(self, day: int) -> None:
        """Each handler works through some of their open reports; some are left to pass
        their limits."""
        async with self.bot.services.db.transaction() as conn:
            open_reports = await report_store.open_in(conn, self.community_id)
        for report in open_reports:
            handler = self.handlers.get(report.category)
            if handler is None or self.rng.random() < 0.35:
                continue  # left alone today
            self._scan()
            card = self._cards.get(handler.id, {}).get(report.id)
            if card is None:
                continue
            action = {"new": "ack", "acknowledged": "start", "in_progress": "resolve",
                      "reopened": "resolve"}.get(report.status.value)
            if action is None:
                continue
            mark = self.api.mark()
            await self.tg.press(handler, card, report_buttons.HANDLE.data(report.id, action))
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
        self._scan()
        residents = {r.person.id: r.person for r in self.residents}
        asks, self._fixed_asks = self._fixed_asks, []
        for chat, call in asks:
            person = residents.get(chat)
            if person is None:
                continue
            asks_for = [b["callback_data"] for b in call.buttons
                        if b.get("callback_data", "").startswith("rf:")
                        and b["callback_data"].endswith(":yes")]
            roll = self.rng.random()
            if roll < 0.25:
                self.figures.actions["fixed? never answered"] += 1
                continue
            report_id = int(asks_for[0].split(":")[1])
            answer = "yes" if roll < 0.85 else "no"
            mark = self.api.mark()
            await self.tg.press(person, call, report_buttons.FIXED.data(report_id, answer))
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
        await self.bot.settled()
        self._scan()
        cards, self._topic_cards = self._topic_cards, []
        for call in cards:
            data = [b.get("callback_data", "") for b in call.buttons]
            topic_id = int(data[0].split(":")[1])
            async with self.bot.services.db.transaction() as conn:
                listed = await topic_store.listed(conn, self.community_id, (TopicStatus.OPEN,))
                topic = await topic_store.get(conn, topic_id)
            repeats = [t.id for t, _n in listed if topic is not None
                       and t.title.rsplit(" ", 1)[0] == topic.title.rsplit(" ", 1)[0]]
            if repeats and await self._merge(call, topic_id, repeats[0]):
                continue
            mark = self.api.mark()
            approve = self.rng.random() < 0.85
            await self.tg.press(chair, call, topic_buttons.MODERATE.data(
                topic_id, "ok" if approve else "no"))
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

    async def _merge(self, card: Call, topic_id: int, target: int) -> bool:
        """The chair merges a new topic into the open one it repeats; False if the bot
        does not offer that one."""
        chair = self.moderators[0]
        mark = self.api.mark()
        await self.tg.press(chair, card, topic_buttons.MODERATE.data(topic_id, "mg"))
        answer = await self.api.wait_for("answerCallbackQuery", after=mark)
        if answer.params.get("text"):
            return False  # "There is no open topic to merge it into."
        choices = await self.api.wait_for("sendMessage", after=mark,
                                          where=lambda c: c.chat_id == chair.id)
        into = [b["callback_data"] for b in choices.buttons
                if b.get("callback_data", "") == f"tm:{topic_id}:{target}"]
        if not into:
            return False
        mark = self.api.mark()
        await self.tg.press(chair, choices, into[0])
        await self.api.wait_for("editMessageText", after=mark,
                                where=lambda c: c.chat_id == chair.id)
        self.figures.actions["topic merged"] += 1
        return True

    async def _support_topics(self) -> None:
        self._scan()
        for post in self._support_posts[-3:]:
            data = post.buttons[0]["callback_data"]
            await self._press_many([(r.person, post, data)
                                    for r in self.rng.sample(self.residents, 6)])
            self.figures.actions["support pressed"] += 6

    # --- polls -----------------------------------------------------------------------

    async def _open_poll(self, kind: str) -> None:
        """A plurality poll comes from the weekly roundup when it offered a topic (the
        chair presses "Put to a vote"); the others the chair sets up with /poll."""
        from tests.test_polls import _create

        await self.bot.settled()  # so no earlier answer is taken for this step's
        self._scan()
        async with self.bot.services.db.transaction() as conn:
            ranked = await topic_store.listed(conn, self.community_id, tuple(TopicStatus))
        still_open = {t.id for t, _n in ranked if t.status is TopicStatus.OPEN}
        offered = [t for t in self._roundup_cards if t in still_open]
        if kind == "plurality" and offered:
            post, controls = await self._poll_from_roundup(offered[-1])
            kind = "from the roundup"
        else:
            ranked = sorted((t for t in ranked if t[0].status is TopicStatus.OPEN),
                            key=lambda t: -t[1])
            question = ranked[0][0].title if ranked else "Repaint the lobby"
            post, controls, _preview = await _create(
                self.api, self.tg, self.group, self.moderators[0], self.community_id,
                question=f"{question}?", deadline="5d", settings=POLL_SETTINGS[kind])
        poll_id = int(post.buttons[0]["callback_data"].split(":")[1])
        self.polls.append(post)
        self.poll_kinds[poll_id] = kind
        self.controls[poll_id] = controls
        self.figures.actions[f"poll opened ({kind})"] += 1
        if kind == "civil_ordinary":
            await self._turnout_drive(post, poll_id)

    async def _poll_from_roundup(self, topic_id: int) -> tuple[Call, Call]:
        chair, api, tg = self.moderators[0], self.api, self.tg
        to_chair = lambda c: c.chat_id == chair.id  # noqa: E731
        card = self._roundup_cards.pop(topic_id)
        mark = api.mark()
        await tg.press(chair, card, topic_buttons.SELECT.data(topic_id, "vote"))
        await api.wait_for("sendMessage", after=mark, where=lambda c: to_chair(c) and any(
            "url" in b for b in c.buttons))
        mark = api.mark()
        await tg.say(chair, chair, f"/start poll_{self.community_id}")  # the question is in
        ask_options = await api.wait_for("sendMessage", after=mark, where=to_chair)
        mark = api.mark()
        await tg.press(chair, ask_options, poll_buttons.YES_NO_ABSTAIN.data())
        await api.wait_for("editMessageText", after=mark, where=to_chair)
        mark = api.mark()
        await tg.say(chair, chair, "5d")
        preview = await api.wait_for("sendMessage", after=mark, where=to_chair)
        mark = api.mark()
        await tg.press(chair, preview, poll_buttons.PUBLISH.data())
        post = await api.wait_for("sendMessage", after=mark,
                                  where=lambda c: c.chat_id == self.group.id)
        controls = await api.wait_for("editMessageText", after=mark, where=to_chair)
        return post, controls

    async def _press_many(self, presses: list[tuple[Person, Any, str]]) -> None:
        """People press at the same time (as a group does); wait for every answer."""
        mark = self.api.mark()
        for person, post, data in presses:
            await self.tg.press(person, post, data)
        await self.api.wait_count("answerCallbackQuery", len(presses), after=mark,
                                  timeout=60)

    async def _turnout_drive(self, post: Call, poll_id: int) -> None:
        """A matter the Civil Code decides: the committee gets the owners who use the bot
        to vote (yes, mostly; one vote per household, so a second owner of a flat is
        turned away), and enters paper ballots for owners who do not."""
        owners = [r for r in self.residents if r.relation == "owner"]
        await self._press_many([
            (r.person, post, f"v:{poll_id}:{0 if self.rng.random() < 0.85 else 1}")
            for r in owners if r.started])
        self.figures.actions["vote pressed"] += sum(1 for r in owners if r.started)
        on_paper = sorted({r.unit for r in owners if not r.started}
                          - {r.unit for r in owners if r.started})
        chair, controls = self.moderators[0], self.controls[poll_id]
        await self.bot.settled()  # so no notice on its way to the chair is taken for an answer
        entered = 0
        for unit in on_paper:
            if entered == 3:
                break
            mark = self.api.mark()
            await self.tg.press(chair, controls, poll_buttons.MANAGE.data(poll_id, "proxy"))
            await self.api.wait_for("sendMessage", after=mark,
                                    where=lambda c: c.chat_id == chair.id)
            mark = self.api.mark()
            await self.tg.say(chair, chair, unit)
            asked = await self.api.wait_for("sendMessage", after=mark,
                                            where=lambda c: c.chat_id == chair.id)
            if not asked.text.startswith("Who signed"):
                # Not a unit the register knows (the flow waits for another: stop it), or
                # one that voted already (the flow ended).
                if "Type another unit" in asked.text:
                    mark = self.api.mark()
                    await self.tg.say(chair, chair, "/cancel")
                    await self.api.wait_for("sendMessage", after=mark,
                                            where=lambda c: c.chat_id == chair.id)
                continue
            mark = self.api.mark()
            await self.tg.say(chair, chair, f"Owner of {unit}")
            choices = await self.api.wait_for("sendMessage", after=mark,
                                              where=lambda c: c.chat_id == chair.id)
            mark = self.api.mark()
            await self.tg.press(chair, choices, poll_buttons.PROXY_OPTION.data(0))
            answer = await self.api.wait_for("editMessageText", after=mark,
                                             where=lambda c: c.chat_id == chair.id)
            if not answer.text.startswith("Recorded"):  # voted itself meanwhile
                continue
            entered += 1
            self.figures.actions["proxy vote entered"] += 1

    async def _vote(self) -> None:
        for post in self.polls:
            poll_id = int(post.buttons[0]["callback_data"].split(":")[1])
            async with self.bot.services.db.transaction() as conn:
                poll = await poll_store.get(conn, poll_id)
            if poll is None or poll.status.value != "open":
                continue
            await self._press_many([
                (r.person, post, f"v:{poll_id}:{self.rng.choice((0, 0, 0, 1, 2))}")
                for r in self.rng.sample(self.residents, 25)])
            self.figures.actions["vote pressed"] += 25

    # --- decisions -------------------------------------------------------------------

    async def _run_decisions(self, day: int) -> None:
        """The chair gives each new decision an owner and a due date; owners post progress
        every six days, except one who goes silent after taking it on."""
        from storage import decisions as decision_store

        async with self.bot.services.db.transaction() as conn:
            decided = await decision_store.of_community(conn, self.community_id)
        chair, group = self.moderators[0], self.group
        for decision in decided:
            if decision.status.value in TERMINAL_DECISIONS:
                continue
            if decision.owner_id is None:
                await self.bot.settled()
                owner = self.rng.choice([r for r in self.residents if r.started]).person
                offer = await self.tg.say(group, owner, "I can take this on.")
                mark = self.api.mark()
                await self.tg.say(group, chair, f"/decision {decision.ref} owner", reply_to=offer)
                await self.api.wait_for("sendMessage", after=mark,
                                        where=lambda c: c.chat_id == group.id)
                due = (self.clock.now() + timedelta(days=21)).astimezone(ZONE)
                await self._command(group, chair, f"/decision {decision.ref} due {due:%Y-%m-%d}")
                if self.silent_owner is None:
                    self.silent_owner = decision.id
                self.figures.actions["decision given an owner"] += 1
                continue
            if decision.id == self.silent_owner or day % 6:
                continue
            await self._progress(decision)

    async def _progress(self, decision: Any) -> None:
        owner = next(r.person for r in self.residents if r.person.id == decision.owner_id)
        to_owner = lambda c: c.chat_id == owner.id  # noqa: E731
        percent = min(100, decision.progress + 30)
        # A reminder still on its way to the owner would be taken for the flow's question.
        await self.bot.settled()
        mark = self.api.mark()
        await self.tg.say(owner, owner, f"/progress {decision.ref}")
        ask = await self.api.wait_for("sendMessage", after=mark, where=to_owner)
        mark = self.api.mark()
        await self.tg.press(owner, ask, decision_buttons.PERCENT.data(percent))
        # The question is edited in place, or (if anything came after it) asked anew below.
        await self.api.wait_for(("editMessageText", "sendMessage"), after=mark, where=to_owner)
        mark = self.api.mark()
        await self.tg.say(owner, owner, f"Work on {decision.ref} moved on ({percent}%).")
        next_step = await self.api.wait_for("sendMessage", after=mark, where=to_owner)
        mark = self.api.mark()
        if percent == 100:
            await self.tg.press(owner, next_step, decision_buttons.NO_NEXT_STEP.data())
        else:
            await self.tg.say(owner, owner, "Next: the contractor's second visit.")
        # The owner hears "Posted"; at 100 % the group's card is the answer.
        await self.api.wait_for("sendMessage", after=mark, where=lambda c: c.chat_id in (
            owner.id, self.group.id))
        self.figures.actions["progress posted"] += 1

    # --- announcements ---------------------------------------------------------------

    async def _announce(self, text: str, when: str, detail: str) -> None:
        from tests.test_announcements import _prepare

        await self.bot.settled()  # so no earlier answer is taken for this step's

        await _prepare(self.api, self.tg, self.group, self.moderators[0], self.community_id,
                       text=text, when=when, detail=detail)
        self.figures.actions[f"announcement scheduled ({when})"] += 1

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
            resolved_ids = await inspection.resolved_report_ids(conn)
            timelines = {r.id: await report_store.timeline(conn, r.id) for r in reports}
        scheduled = {(w.kind, w.key) for w in pending}
        problems += _left_hanging(reports, "report_", TERMINAL_REPORTS, scheduled)
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
        async with services.db.transaction() as conn:
            topics = await topic_store.listed(conn, self.community_id, tuple(TopicStatus))
        voted_on = {p.topic_id for p in polls if p is not None}
        for topic, _supports in topics:
            status = topic.status
            if status is TopicStatus.OPEN and (
                    "topic_roundup", str(self.community_id)) not in scheduled:
                problems.append(f"{topic.ref} is open and no roundup is scheduled")
            elif status is TopicStatus.PENDING:
                problems.append(f"{topic.ref} still waits for a moderator")
            elif status is TopicStatus.SELECTED_VOTE and topic.id not in voted_on:
                problems.append(f"{topic.ref} was put to a vote that never came")
        problems += await self._check_results(polls)
        problems += self._check_escalations(reports, timelines)
        problems += await self._check_decisions_and_announcements(scheduled)
        problems += await self._check_summaries(reports, timelines)
        problems += [f"sent in quiet hours: {s}" for s in self.figures.quiet_sends]
        problems += [f"Bot API: {v}" for v in self.api.violations]
        return problems

    def _group_texts(self, *, as_sent: bool = False) -> list[str]:
        """What the group was sent: as people read it, or as sent (with its HTML)."""
        return [(c.params.get("text") or c.params.get("caption") if as_sent else c.text) or ""
                for c in self.api.calls
                if c.chat_id == self.group.id and c.method in SEND_METHODS and c.error is None]

    async def _check_results(self, polls: list[Any]) -> list[str]:
        """Each closed poll posted one result; what it stored is what the ballots add up
        to, counted again here; its vote log's hash chain is intact."""
        from bot.domain.chain import verify
        from bot.domain.polls import freeze, verdict
        from storage import residents as resident_store

        problems = []
        texts = self._group_texts()
        async with self.bot.services.db.transaction() as conn:
            roster = await resident_store.households(conn, self.community_id)
            for poll in polls:
                if poll is None:
                    continue
                chain = verify(await poll_store.chain(conn, poll.id))
                if not chain.intact:
                    problems.append(f"{poll.ref}: vote log broken at entry {chain.broken_at}")
                if poll.status.value != "closed":
                    continue
                posts = [t for t in texts if t.startswith((f"{poll.ref} 已截止",
                                                          f"{poll.ref} is closed"))]
                if len(posts) != 1:
                    problems.append(f"{poll.ref}: {len(posts)} result posts")
                if poll.secret:
                    continue  # its units are pseudonyms whose key died at closing
                tally, _meaning = verdict(poll, await poll_store.counted(conn, poll.id), roster)
                if poll.result is None or freeze(tally) != poll.result["tally"]:
                    problems.append(f"{poll.ref}: stored result differs from a recount")
        return problems

    def _check_escalations(self, reports: list[Any], timelines: dict[int, Any]) -> list[str]:
        """The moderators hear once per limit a report passed: exactly once for
        acknowledging, once per time it was (re)opened for resolving."""
        problems = []
        chair = self.moderators[0]
        told = Counter()
        for call in self.api.sent(chat_id=chair.id):
            text = call.text or ""
            if text.startswith("Overdue in Sim Gardens: R-"):
                ref = text.split(": ", 1)[1].split(" ", 1)[0]
                told[(ref, "ack" if "not acknowledged" in text else "resolve")] += 1
        for report in reports:
            events = timelines[report.id]
            ack_limit = report.created_at + timedelta(hours=ACK_HOURS.get(report.category, 24))
            acked = next((e.at for e in events if e.status.value != "new"), None)
            # The limit's own hour is ticked before that morning's work: acknowledging
            # exactly at the limit is late.
            late = (acked is None or acked >= ack_limit) and ack_limit <= self.clock.now()
            if told[(report.ref, "ack")] != int(late):
                problems.append(f"{report.ref}: told {told[(report.ref, 'ack')]} times it was "
                                f"not acknowledged, expected {int(late)}")
            reopened = sum(1 for e in events if e.status.value == "reopened")
            if told[(report.ref, "resolve")] > 1 + reopened:
                problems.append(f"{report.ref}: told {told[(report.ref, 'resolve')]} times it "
                                "was not resolved")
            limit = report.created_at + timedelta(hours=RESOLVE_HOURS.get(report.category, 72))
            resolved = next((e.at for e in events if e.status.value in (
                "resolved", "rejected", "duplicate", "closed")), None)
            if limit <= self.clock.now() and (resolved is None or resolved >= limit) \
                    and told[(report.ref, "resolve")] == 0:
                problems.append(f"{report.ref} passed its resolve limit; nobody was told")
        return problems

    async def _check_decisions_and_announcements(self, scheduled: set[tuple[str, str]]
                                                 ) -> list[str]:
        from storage import announcements as announcement_store
        from storage import decisions as decision_store

        problems = []
        async with self.bot.services.db.transaction() as conn:
            decided = await decision_store.of_community(conn, self.community_id)
            notices = await announcement_store.of_community(conn, self.community_id)
        if not decided:
            problems.append("no poll made a decision")
        problems += _left_hanging(decided, "decision_", TERMINAL_DECISIONS, scheduled)
        if self.silent_owner is not None:
            silent = next(d for d in decided if d.id == self.silent_owner)
            reminded = [c for c in self.api.sent(chat_id=silent.owner_id)
                        if silent.ref in (c.text or "") and "/progress" in (c.text or "")]
            if not reminded:
                problems.append(f"{silent.ref}'s owner went silent and was never reminded")
        repeating = [a for a in notices if a.recurring]
        for notice in notices:
            if (notice.recurring or notice.runs == 0) and notice.status.value == "active" \
                    and ("announcement", str(notice.id)) not in scheduled:
                problems.append(f"announcement #{notice.id} has no next run scheduled")
            if not notice.recurring and notice.runs != 1:
                problems.append(f"one-off announcement #{notice.id} ran {notice.runs} times")
        texts = self._group_texts()
        weekly = sum(1 for t in texts if t == "Bins go out on Monday morning.")
        mondays = 0  # Mondays at 08:00 from the day it was scheduled (day 2) to now
        moment = (self.start + timedelta(days=2)).astimezone(ZONE)
        while moment <= self.clock.now():
            if moment.weekday() == 0 and moment.hour == 8:
                mondays += 1
            moment += timedelta(hours=1)
        if repeating and weekly != mondays:
            problems.append(f"the weekly announcement went out {weekly} times, expected "
                            f"{mondays}")
        return problems

    async def _check_summaries(self, reports: list[Any], timelines: dict[int, Any]
                               ) -> list[str]:
        """The figures each weekly summary gave are the database's, counted again here."""
        import re

        from bot.i18n import translator

        problems = []
        community = await find_community(self.bot, self.group.id)
        async with self.bot.services.db.transaction() as conn:
            sent = await inspection.stored_summaries(conn, self.community_id)
        _ = translator(community.language)
        pattern = re.escape(_("<b>Reports</b>: {opened} opened, {resolved} resolved")).replace(
            re.escape("{opened}"), r"(\d+)").replace(re.escape("{resolved}"), r"(\d+)")
        texts = set(self._group_texts(as_sent=True))
        for week_start, text in sent:
            if text not in texts:
                problems.append(f"summary of {week_start:%m-%d} stored but not posted")
            end = week_start + timedelta(weeks=1)
            opened = sum(1 for r in reports if week_start <= r.created_at < end)
            first_resolved = [next((e.at for e in timelines[r.id]
                                    if e.status.value == "resolved"), None) for r in reports]
            resolved = sum(1 for at in first_resolved if at and week_start <= at < end)
            found = re.search(pattern, text)
            said = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
            if said != (opened, resolved):
                problems.append(f"summary of {week_start:%m-%d} says {said[0]} opened and "
                                f"{said[1]} resolved; the database has {opened} and {resolved}")
        return problems

    async def report(self) -> str:
        """The building's weeks as a committee would want to see them."""
        from storage import decisions as decision_store

        async with self.bot.services.db.transaction() as conn:
            reports = await report_store.all_in(conn, self.community_id)
            timelines = {r.id: await report_store.timeline(conn, r.id) for r in reports}
            topics = await topic_store.listed(conn, self.community_id, tuple(TopicStatus))
            polls = [await poll_store.get(conn, int(p.buttons[0]["callback_data"].split(":")[1]))
                     for p in self.polls]
            counted = {p.id: len(await poll_store.counted(conn, p.id)) for p in polls if p}
            done = Counter(await inspection.done_work_kinds(conn))
            decided = await decision_store.of_community(conn, self.community_id)

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
        rows += [(f"poll {p.ref} ({self.poll_kinds.get(p.id, '?')}, {p.status.value})",
                  f"{counted.get(p.id, 0)} ballots of {len(self.residents)} residents"
                  + (f", {p.result['verdict']['outcome']}" if p.result else ""))
                 for p in polls if p]
        rows += [(f"decisions {status}", n) for status, n in sorted(
            Counter(d.status.value for d in decided).items())]
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


def _left_hanging(items: list[Any], kinds: str, terminal: set[str],
                  scheduled: set[tuple[str, str]]) -> list[str]:
    """Items neither finished nor with a next step (due work of ``kinds`` keyed by them)."""
    return [f"{item.ref} is {item.status.value} with nothing scheduled" for item in items
            if item.status.value not in terminal and not any(
                kind.startswith(kinds) and key.split(":")[0] == str(item.id)
                for kind, key in scheduled)]
