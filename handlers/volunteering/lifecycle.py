"""A volunteer activity's business actions, each in the caller's transaction with what it
owes the world queued in the outbox: the post kept up to date, attendance credited."""

from __future__ import annotations

import html
import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.helping import EntryKind, credits, hours, shown
from bot.domain.models import Community
from bot.domain.points import Action
from bot.domain.volunteering import (
    Activity,
    ActivityStatus,
)
from bot.i18n import translator
from bot.points import award
from handlers import outgoing
from handlers.volunteering.callbacks import SEAT
from storage import Connection, audit, communities, outbox, people
from storage import helping as bank
from storage import volunteering as store

ATTENDANCE = "activity_attendance"  # due work: the organiser ticks who came
POSTED = "activity_post"


async def post_text(conn: Connection, activity: Activity, community: Community
                ) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = translator(community.language)
    signed = await store.signed_up(conn, activity.id)
    organiser = await people.names(conn, [activity.organiser_id])
    lines = [
        "<b>" + _("🌱 {ref} · Volunteering · {title}").format(ref=activity.ref,
                                               title=html.escape(activity.title)) + "</b>",
        _("When: {when}, about {hours} h").format(when=_local(activity.starts_at, community),
                                                   hours=hours(activity.minutes)),
        _("Seats: {taken} of {seats} taken").format(taken=len(signed), seats=activity.seats),
        _("Organised by {name}").format(name=html.escape(
            organiser[activity.organiser_id].name if activity.organiser_id in organiser
            else "?")),
    ]
    if activity.status is ActivityStatus.HELD:
        came = [user for user, attended in signed if attended]
        lines.append("<i>" + _("Held: {count} came, {hours} h given. Thank you!").format(
            count=len(came), hours=hours(activity.minutes * len(came))) + "</i>")
        return "\n".join(lines), None
    return "\n".join(lines), InlineKeyboardMarkup([[
        InlineKeyboardButton(_("Take a seat"), callback_data=SEAT.data(activity.id, "take")),
        InlineKeyboardButton(_("Give my seat back"),
                             callback_data=SEAT.data(activity.id, "back"))]])


def _local(at: datetime, community: Community) -> str:
    return f"{at.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"


async def refresh(conn: Connection, activity_id: int, now: datetime) -> None:
    activity = await store.get(conn, activity_id, lock=True)
    if activity is None or activity.post_message_id is None or activity.post_chat_id is None:
        return
    community = await communities.by_id(conn, activity.community_id)
    assert community is not None
    text, markup = await post_text(conn, activity, community)
    shows = outgoing.shows(text, markup)
    # The row notes what the post shows, in this transaction: run again, this action finds
    # it shown and queues nothing; the key need only be new.
    if not await store.showing(conn, activity.id, shows):
        return
    await outbox.queue(conn, [outgoing.edit_text(
        f"activity:{activity.id}:edit:{shows}:{secrets.token_hex(8)}", activity.post_chat_id,
        activity.post_message_id, text, markup=markup)], now)


async def posted(conn: Connection, remember: dict[str, Any], answer: Any,
                  now: datetime) -> None:
    activity_id = int(remember["activity"])
    await store.posted(conn, activity_id, int(answer["chat"]["id"]),
                       int(answer["message_id"]), str(remember.get("shows", "")))
    await refresh(conn, activity_id, now)  # seats taken while it was on its way


async def credit(conn: Connection, services: Any, activity: Activity,
                  now: datetime) -> int:
    community = await communities.by_id(conn, activity.community_id)
    assert community is not None
    came = [u for u, attended in await store.signed_up(conn, activity.id) if attended]
    rates = await bank.rates(conn, community.id, services.settings.timebank.rates)
    worth = credits(activity.minutes, rates.of(activity.kind))
    for attendee in came:
        await bank.enter(conn, community_id=community.id, user_id=attendee,
                         kind=EntryKind.DEPOSIT, amount=worth, ref=activity.ref, now=now)
        await award(conn, services.settings.points, community, user_id=attendee,
                    action=Action.VOLUNTEER, ref=activity.ref, now=now)
    await outbox.queue(conn, await outgoing.to_people(
        conn, came, f"activity:{activity.id}:thanks", services.default_language,
        lambda _: _("Thank you for coming to {ref} “{title}”: {hours} h, {credits} credits "
                    "in your time bank and the volunteering points.").format(
            ref=activity.ref, title=html.escape(activity.title),
            hours=hours(activity.minutes), credits=shown(worth))), now)
    await audit.record(conn, community_id=community.id, actor_id=activity.organiser_id,
                       action="activity.held", at=now,
                       details={"activity": activity.ref, "came": len(came)})
    await refresh(conn, activity.id, now)
    return len(came)
