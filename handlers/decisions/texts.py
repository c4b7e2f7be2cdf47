"""What a decision shows: its line in a list, its full view, its progress card and the
rating post (回头看)."""

from __future__ import annotations

import html
from datetime import datetime, time
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from bot.context import YishiApp, YishiContext
from bot.domain.decisions import (
    NEEDS_REASON,
    Decision,
    DecisionStatus,
    average,
    progress_bar,
)
from bot.domain.models import Community
from bot.i18n import N_, Translator
from handlers.common import time_problem
from handlers.decisions import callbacks
from storage import decisions as store
from storage import people

STATUS_NAMES = {
    DecisionStatus.PLANNED: N_("planned"), DecisionStatus.IN_PROGRESS: N_("in progress"),
    DecisionStatus.DONE: N_("done"), DecisionStatus.BLOCKED: N_("blocked"),
    DecisionStatus.CANCELLED: N_("cancelled"),
}


def _local(moment: datetime, community: Community) -> str:
    return f"{moment.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"


def _stars(value: Fraction | None, count: int, _: Translator) -> str:
    if value is None:
        return ""
    return _("Looking back: ★ {average} from {count} neighbours").format(
        average=f"{float(value):.1f}", count=count)


async def _owner_name(context: YishiContext | YishiApp, decision: Decision) -> str | None:
    services = context.services if isinstance(context, YishiContext) else context.bot_data.services
    if decision.owner_id is None:
        return None
    async with services.db.transaction() as conn:
        person = await people.get(conn, decision.owner_id)
    return person.name if person else None


async def _line(context: YishiContext, decision: Decision, community: Community,
                _: Translator) -> str:
    now = context.services.clock.now()
    parts = [f"{decision.ref} · {html.escape(decision.title)}",
             _(STATUS_NAMES[decision.status]), f"{decision.progress}%"]
    if decision.due_at is not None:
        parts.append(_("due {date}").format(
            date=f"{decision.due_at.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d}"))
    line = " · ".join(parts)
    return ("⚠️ " + line + " · " + _("overdue")) if decision.overdue(now) else line


async def _view(context: YishiContext, decision: Decision, community: Community,
                _: Translator) -> str:
    async with context.services.db.transaction() as conn:
        events = await store.timeline(conn, decision.id)
        steps = await store.milestones(conn, decision.id)
        stars = await store.ratings(conn, decision.id)
        named = await people.names(conn, [e.actor_id for e in events if e.actor_id])
    owner = await _owner_name(context, decision)
    lines = [f"<b>{decision.ref} · {html.escape(decision.title)}</b>",
             progress_bar(decision.progress),
             _("Status: {status}").format(status=_(STATUS_NAMES[decision.status])),
             _("Owner: {name}").format(name=html.escape(owner) if owner else _("nobody yet")),
             _("Due: {date}").format(date=_local(decision.due_at, community)
                                     if decision.due_at else _("not set"))]
    if decision.reason and decision.status in NEEDS_REASON:
        lines.append(_("Reason: {reason}").format(reason=html.escape(decision.reason)))
    if stars:
        lines.append(_stars(average(stars), len(stars), _))
    if steps:
        lines += ["", _("<b>Milestones</b>")]
        lines += [("✅ " if m.done else "▫️ ") + html.escape(m.title) for m in steps]
    lines += ["", _("<b>Timeline</b>")]
    for event in events[-15:]:
        who = named[event.actor_id].name if event.actor_id in named else ""
        line = f"{_local(event.at, community)} · {_(STATUS_NAMES[event.status])} · " \
               f"{event.percent}%"
        if who:
            line += f" · {html.escape(who)}"
        if event.text:
            line += f" — {html.escape(event.text)}"
        lines.append(line)
    return "\n".join(lines)[:4096]


def setup_buttons(decision: Decision, _: Translator) -> InlineKeyboardMarkup | None:
    """What a decision made by a vote still lacks, as buttons: an owner, a due date."""
    rows = []
    if decision.owner_id is None:
        rows.append([InlineKeyboardButton(_("I will own it"),
                                          callback_data=callbacks.TAKE.data(decision.id))])
    if decision.due_at is None:
        rows.append([InlineKeyboardButton(label, callback_data=callbacks.DUE_IN.data(
            decision.id, code)) for code, label in (
            ("2w", _("Due in 2 weeks")), ("1m", _("in a month")), ("3m", _("in 3 months")))])
    return InlineKeyboardMarkup(rows) if rows else None


# How far ahead each due-date button sets the date.
DUE_IN_DAYS = {"2w": 14, "1m": 30, "3m": 91}


def _view_buttons(decision: Decision, _: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("Follow this decision"), callback_data=callbacks.FOLLOW.data(decision.id))]])


def _card(decision: Decision, community: Community, event: Any, _: Translator) -> str:
    lines = [f"<b>{decision.ref} · {html.escape(decision.title)}</b>",
             progress_bar(event.percent) + " · " + _(STATUS_NAMES[event.status])]
    if event.text:
        label = _("Reason: {text}") if event.status in NEEDS_REASON else _("What changed: {text}")
        lines.append(label.format(text=html.escape(event.text)))
    if event.next_step:
        lines.append(_("Next step: {text}").format(text=html.escape(event.next_step)))
    if decision.due_at is not None:
        lines.append(_("Due: {date}").format(date=_local(decision.due_at, community)))
    return "\n".join(lines)


def _rating_text(decision: Decision, stars: list[int], _: Translator) -> str:
    lines = [_("<b>Looking back</b> · {ref} “{title}” was done a while ago. How did it turn out? "
               "One rating per neighbour; you can change yours.").format(
        ref=decision.ref, title=html.escape(decision.title))]
    if stars:
        lines.append(_stars(average(stars), len(stars), _))
    return "\n".join(lines)


def _rating_buttons(decision: Decision) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        f"{n}★", callback_data=callbacks.RATE.data(decision.id, n)) for n in range(1, 6)]])


# A due date typed without a time of day means this time that day.
DUE_TIME = time(18, 0)


def due_problem(_: Translator, code: str, now: datetime, timezone: str) -> str:
    """Why a typed due date was refused, with how to type one."""
    return time_problem(_, code, now, timezone, at=DUE_TIME,
                        too_far=N_("That is more than ten years away; give a nearer date."))
