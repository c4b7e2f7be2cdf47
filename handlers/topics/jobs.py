"""What the scheduler runs for topics: the weekly roundup, which ranks the open topics by
support and urgency and offers the moderators the top ones; and, after a topic's meeting,
the question to the moderators of what came of it."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import YishiApp
from bot.domain.durations import next_weekly
from bot.domain.models import Community, DueWork, Outgoing
from bot.domain.topics import (
    AWAITING_OUTCOME,
    Ranked,
    Topic,
    TopicStatus,
    rank,
)
from bot.i18n import N_, Translator, translator
from bot.scheduler import Defer, Done, Outcome
from bot.services import Services
from handlers.moderators import Readers, readers, review_copies
from handlers.outgoing import message
from handlers.topics import callbacks
from handlers.topics.lifecycle import ROUNDUP
from handlers.topics.texts import _card
from storage import Connection, communities, due_work, outbox, people
from storage import topics as store

# A question to the moderators from scheduled work (the roundup, a topic ready, after its
# meeting): queued with the run, so a run again after a crash asks once.
ASKED = "topic.asked"


async def _ensure_roundup(app: YishiApp, community: Community) -> None:
    """Arm the community's weekly roundup if it is not armed yet."""
    async with app.bot_data.services.db.transaction() as conn:
        await ensure_roundup_in(conn, app.bot_data.services, community)


async def ensure_roundup_in(conn: Connection, services: Services,
                            community: Community) -> None:
    """:func:`_ensure_roundup` in the caller's transaction (a topic's approval arms it
    with the topic it opens)."""
    if await due_work.pending(conn, kind=ROUNDUP, key=str(community.id)) is None:
        now = services.clock.now()
        await due_work.schedule(conn, kind=ROUNDUP, key=str(community.id),
                                due_at=_next_roundup(services, community), now=now,
                                payload={"community": community.id})


def _next_roundup(services: Services, community: Community) -> datetime:
    settings = services.settings.topics
    return next_weekly(services.clock.now(), community.timezone, settings.roundup_day,
                       datetime.strptime(settings.roundup_time, "%H:%M").time())


async def replan_roundup(app: YishiApp, community: Community) -> None:
    """Arm the next weekly roundup at its hour in the group's zone (again, when the zone
    changes)."""
    services = app.bot_data.services
    await services.scheduler.schedule(kind=ROUNDUP, key=str(community.id),
                                      due_at=_next_roundup(services, community),
                                      payload={"community": community.id})


async def arm_roundups(app: YishiApp) -> None:
    """At start: every active community with topics has its next roundup armed."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        active = await communities.with_topics(conn)
    for community in active:
        await _ensure_roundup(app, community)


async def post_roundup(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``topic_roundup``: the week's top topics in the group, selection buttons to
    the moderators, and the next week's roundup armed."""
    services = app.bot_data.services
    settings = services.settings.topics
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, work.payload["community"])
    if community is None or not community.active:
        return Done()
    now = services.clock.now()
    quiet_until = community.quiet_until(now)
    if quiet_until is not None:
        return Defer(quiet_until)
    async with services.db.transaction() as conn:
        listed = await store.listed(conn, community.id, (TopicStatus.OPEN,))
        fresh = await store.created_since(conn, community.id, work.due_at - timedelta(days=7))
    by_id = {t.id: (t, n) for t, n in listed}
    top = rank((Ranked(id=t.id, supports=n, urgent=t.urgent, created_at=t.created_at)
                for t, n in listed), urgency_first=True)[:settings.roundup_size]
    if top or fresh:
        _ = translator(community.language)
        lines = [_("<b>This week's topics</b>")]
        for place, entry in enumerate(top, start=1):
            topic, supports = by_id[entry.id]
            lines.append(_("{place}. {ref} “{title}” — {count} supporters").format(
                place=place, ref=topic.ref, title=html.escape(topic.title), count=supports)
                + (" ⚡" if topic.urgent else ""))
        if fresh:
            lines += ["", _("New since last week: {refs}").format(
                refs=_.join(f"{t.ref} “{html.escape(t.title)}”" for t in fresh))]
        lines += ["", _("Support what matters to you with the 👍 button under each topic; "
                        "propose your own with /topic.")]
        # Queued under a key that names the week (the scheduler's lease moves the item's
        # own time on, so not by that), with the next week's run armed:
        # run again after a crash before the scheduler noted it, it is not posted twice,
        # and the moderators are not asked twice.
        moderators = await readers(app.bot, services, community)
        async with services.db.transaction() as conn:
            week = now.astimezone(ZoneInfo(community.timezone)).strftime("%G-W%V")
            owed = [message(f"topic:roundup:{community.id}:{week}", community.chat_id,
                            "\n".join(lines))]
            for entry in top:
                owed += await _offer_selection(conn, services, community, moderators,
                                               *by_id[entry.id], week)
            await outbox.queue(conn, owed, now)
            await ensure_next(conn, services, community, now)
        services.outbox.kick()
        return Done()
    async with services.db.transaction() as conn:
        await ensure_next(conn, services, community, now)
    return Done()


async def ensure_next(conn: Connection, services: Services, community: Community,
                      now: datetime) -> None:
    """Arm the community's next weekly roundup, a week on from this one."""
    settings = services.settings.topics
    next_due = next_weekly(now, community.timezone, settings.roundup_day,
                           datetime.strptime(settings.roundup_time, "%H:%M").time())
    await due_work.schedule(conn, kind=ROUNDUP, key=str(community.id), due_at=next_due,
                            now=now, payload={"community": community.id})


def _choices(topic: Topic, rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """The moderators' buttons for what happens with a topic: (action, label) by row."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        label, callback_data=callbacks.SELECT.data(topic.id, action)) for action, label in row]
        for row in rows])


Head = Callable[[Translator], str]
Buttons = Callable[[Translator], InlineKeyboardMarkup]


async def _question(conn: Connection, services: Services, community: Community,
                    moderators: Readers, topic: Topic, supports: int, key: str, head: Head,
                    buttons: Buttons, unreachable_note: str) -> list[Outgoing]:
    """A question to the moderators about a topic: ``head`` above its card, ``buttons``
    under it, queued by the caller under ``key`` (a run again after a crash asks once)."""
    author = await _author_in(conn, topic)

    def render(_: Translator) -> tuple[str, InlineKeyboardMarkup]:
        return head(_) + "\n\n" + _card(topic, supports, author, _), buttons(_)

    return await review_copies(conn, services, community, moderators, key, render,
                               remember={"what": ASKED}, unreachable_note=unreachable_note)


def _what_next(topic: Topic, _: Translator) -> InlineKeyboardMarkup:
    """Put to a vote, discuss at a meeting, close, or mark urgent."""
    return _choices(topic, [[("vote", _("Put to a vote")), ("meet", _("Discuss at a meeting"))],
                            [("close", _("Close")), ("urgent", _("Urgent on/off"))]])


async def _offer_selection(conn: Connection, services: Services, community: Community,
                           moderators: Readers, topic: Topic, supports: int,
                           week: str) -> list[Outgoing]:
    """The roundup's question about one of its topics, named by the week."""
    return await _question(
        conn, services, community, moderators, topic, supports,
        f"topic:{topic.id}:offer:{week}",
        lambda _: _("<b>Roundup</b>: what should happen with this topic?"),
        lambda _: _what_next(topic, _), N_(
            "The weekly topics are ready for the moderators. Moderators: start a private "
            "chat with me to choose what happens next."))


async def _author_in(conn: Connection, topic: Topic) -> str | None:
    if topic.anonymous or topic.author_id is None:
        return None
    person = await people.get(conn, topic.author_id)
    return person.name if person else None


async def asked(conn: Connection, remember: dict[str, Any], answer: Any,
                now: datetime) -> None:
    """A question to the moderators went: nothing to note (their answer is a button)."""


async def ask_when_ready(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``topic_ready``: a topic reached the group's support threshold, so the
    moderators are asked what happens with it now (after quiet hours), not at the weekly
    roundup."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        topic = await store.get(conn, work.payload["topic"])
        community = await communities.by_id(conn, topic.community_id) if topic else None
        supports = await store.supports(conn, topic.id) if topic else 0
    if topic is None or community is None or not community.active \
            or topic.status is not TopicStatus.OPEN:
        return Done()
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    moderators = await readers(app.bot, services, community)
    async with services.db.transaction() as conn:
        # Named by the due item (its id stays when it runs again after a crash).
        await outbox.queue(conn, await _question(
            conn, services, community, moderators, topic, supports,
            f"topic:{topic.id}:ready:{work.id}",
            lambda _: _("<b>Ready for a decision</b>: {ref} has {count} supporters, the "
                        "number this group set (/settings threshold). What should happen "
                        "with it?").format(ref=topic.ref, count=supports),
            lambda _: _what_next(topic, _), N_(
                "A topic reached the group's support threshold and is ready for a decision. "
                "Moderators: start a private chat with me.")), services.clock.now())
    services.outbox.kick()
    return Done()


async def ask_after_meeting(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``topic_met``: a while after a topic's meeting, the moderators are asked
    what came of it, so no topic waits for a meeting forever."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        topic = await store.get(conn, work.payload["topic"])
        community = await communities.by_id(conn, topic.community_id) if topic else None
    if topic is None or community is None or not community.active \
            or topic.status not in AWAITING_OUTCOME:
        return Done()
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    moderators = await readers(app.bot, services, community)
    when = (topic.meeting_at.astimezone(ZoneInfo(community.timezone))
            if topic.meeting_at else None)
    async with services.db.transaction() as conn:
        supports = len(await store.supporters(conn, topic.id))
        await outbox.queue(conn, await _question(
            conn, services, community, moderators, topic, supports,
            f"topic:{topic.id}:met:{work.id}",
            lambda _: _("<b>After the meeting</b> on {when}: what came of this topic?").format(
                when=f"{when:%Y-%m-%d %H:%M}" if when else "?"),
            lambda _: _choices(topic, [[("agreed", _("Agreed at the meeting")),
                                        ("vote", _("Put to a vote"))],
                                       [("back", _("Back to the list")),
                                        ("close", _("Close"))]]), N_(
                "A topic's meeting is over and the moderators should record what came of "
                "it. Moderators: start a private chat with me.")), services.clock.now())
    services.outbox.kick()
    return Done()
