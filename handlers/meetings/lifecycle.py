"""A round-table meeting's business actions, each in the caller's transaction with what it
owes the world queued in the outbox: the post kept up to date, a seat taken or given back
(the first one waiting moves up and is told), the reminders the day before and an hour
before, and the minutes posted."""

from __future__ import annotations

import html
import secrets
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.meetings import Meeting, MeetingStatus, seated
from bot.domain.models import Community
from bot.i18n import N_, Translator, translator
from bot.services import Services
from handlers import outgoing
from handlers.meetings.callbacks import SEAT
from handlers.questions import ask_button
from storage import Connection, communities, due_work, outbox, people
from storage import meetings as store

REMIND = "meeting_remind"  # due work: the day before and an hour before
MINUTES_DUE = "meeting_minutes"  # due work: after it starts, the organiser's card
POSTED = "meeting_post"

BEFORE = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


def local(at: datetime, community: Community) -> str:
    return f"{at.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"


async def post_text(conn: Connection, services: Services, meeting: Meeting,
                    community: Community) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = translator(community.language)
    signed = [u for u, _a in await store.signed_up(conn, meeting.id)]
    sitting, waiting = seated(signed, meeting.seats)
    lines = ["<b>" + _("🪑 {ref} · Round-table meeting · {title}").format(
                 ref=meeting.ref, title=html.escape(meeting.title)) + "</b>",
             _("When: {when}").format(when=local(meeting.starts_at, community)),
             _("Where: {place}").format(place=html.escape(meeting.place)),
             _("Agenda:")]
    lines += [f"{n}. {html.escape(item)}" for n, item in enumerate(meeting.agenda, start=1)]
    if (meeting.background or {}).get("text"):
        lines += [_("<b>Background</b>"), html.escape(meeting.background["text"])]
    lines.append(_("Seats: {taken} of {seats} taken").format(taken=len(sitting),
                                                             seats=meeting.seats)
                 + (_(", {count} waiting").format(count=len(waiting)) if waiting else ""))
    if meeting.status is MeetingStatus.HELD:
        lines.append("<i>" + _("Held; the minutes are posted below.") + "</i>")
        return "\n".join(lines), None
    return "\n".join(lines), InlineKeyboardMarkup([[
        InlineKeyboardButton(_("Sign up"), callback_data=SEAT.data(meeting.id, "take")),
        InlineKeyboardButton(_("Cancel my place"),
                             callback_data=SEAT.data(meeting.id, "back"))],
        [ask_button(services, "meeting", meeting.id, _)]])


async def call(conn: Connection, services: Services, community: Community, *,
               title: str, agenda: list[str], starts_at: datetime, place: str, seats: int,
               organiser_id: int, now: datetime, background: dict[str, str] | None = None
               ) -> Meeting:
    """Post the meeting (with its background, as a poll's notice has) and arm its reminders
    and the organiser's card."""
    made = await store.create(conn, community_id=community.id, title=title, agenda=agenda,
                              starts_at=starts_at, place=place, seats=seats,
                              organiser_id=organiser_id, now=now, background=background)
    text, markup = await post_text(conn, services, made, community)
    owed = [outgoing.message(f"meeting:{made.id}:post", community.chat_id, text,
                             markup=markup, remember={"what": POSTED, "meeting": made.id,
                                                      "shows": outgoing.shows(text, markup)})]
    _ = translator(community.language)
    caption = _("{ref}: background").format(ref=made.ref)
    if (background or {}).get("photo"):
        owed.append(outgoing.photo(f"meeting:{made.id}:photo", community.chat_id,
                                   background["photo"], caption))
    if (background or {}).get("document"):
        owed.append(outgoing.document(f"meeting:{made.id}:document", community.chat_id,
                                      file_id=background["document"], caption=caption))
    await outbox.queue(conn, owed, now)
    for which, ahead in BEFORE.items():
        if starts_at - ahead > now:
            await due_work.schedule(conn, kind=REMIND, key=f"{made.id}:{which}",
                                    due_at=starts_at - ahead, now=now,
                                    payload={"meeting": made.id, "which": which})
    await due_work.schedule(conn, kind=MINUTES_DUE, key=str(made.id), due_at=starts_at,
                            now=now, payload={"meeting": made.id})
    return made


async def posted(services: Services, conn: Connection, remember: dict[str, Any],
                 answer: Any, now: datetime) -> None:
    """The post is in the group (registered with the services bound: the post's buttons
    carry the bot's link)."""
    meeting_id = int(remember["meeting"])
    await store.posted(conn, meeting_id, int(answer["chat"]["id"]), int(answer["message_id"]),
                       str(remember.get("shows", "")))
    await refresh(conn, services, meeting_id, now)


async def refresh(conn: Connection, services: Services, meeting_id: int,
                  now: datetime) -> None:
    meeting = await store.get(conn, meeting_id, lock=True)
    if meeting is None or meeting.post_message_id is None or meeting.post_chat_id is None:
        return
    community = await communities.by_id(conn, meeting.community_id)
    assert community is not None
    text, markup = await post_text(conn, services, meeting, community)
    shows = outgoing.shows(text, markup)
    if await store.showing(conn, meeting.id, shows):
        await outbox.queue(conn, [outgoing.edit_text(
            f"meeting:{meeting.id}:edit:{shows}:{secrets.token_hex(8)}", meeting.post_chat_id,
            meeting.post_message_id, text, markup=markup)], now)


async def take_seat(conn: Connection, services: Services, meeting: Meeting,
                    user_id: int, now: datetime) -> str | None:
    """Sign up (a seat, or the waiting list); the answer's code: seat, waiting, already,
    closed."""
    if meeting.status is not MeetingStatus.OPEN or now >= meeting.starts_at:
        return "closed"
    if not await store.sign_up(conn, meeting.id, user_id, now):
        return "already"
    signed = [u for u, _a in await store.signed_up(conn, meeting.id)]
    await refresh(conn, services, meeting.id, now)
    return "seat" if user_id in seated(signed, meeting.seats)[0] else "waiting"


async def give_seat_back(conn: Connection, services: Services, meeting: Meeting,
                         user_id: int, now: datetime) -> str | None:
    """Give a place back; the first one waiting moves up and is told. Codes: given, none,
    closed."""
    if meeting.status is not MeetingStatus.OPEN or now >= meeting.starts_at:
        return "closed"
    before = seated([u for u, _a in await store.signed_up(conn, meeting.id)], meeting.seats)[0]
    if not await store.give_back(conn, meeting.id, user_id):
        return "none"
    after = seated([u for u, _a in await store.signed_up(conn, meeting.id)], meeting.seats)[0]
    moved_up = [u for u in after if u not in before]
    if moved_up:
        community = await communities.by_id(conn, meeting.community_id)
        assert community is not None
        await outbox.queue(conn, await outgoing.to_people(
            conn, moved_up, f"meeting:{meeting.id}:seated:{secrets.token_hex(4)}",
            services.default_language,
            lambda _: _("A seat came free: you now have a seat at {ref} “{title}”, {when}, "
                        "{place}.").format(ref=meeting.ref, title=html.escape(meeting.title),
                                           when=local(meeting.starts_at, community),
                                           place=html.escape(meeting.place))), now)
    await refresh(conn, services, meeting.id, now)
    return "given"


async def remind(conn: Connection, services: Services, meeting_id: int, which: str,
                 now: datetime) -> None:
    """Those with a seat, the day before and an hour before."""
    meeting = await store.get(conn, meeting_id)
    if meeting is None or meeting.status is not MeetingStatus.OPEN:
        return
    community = await communities.by_id(conn, meeting.community_id)
    assert community is not None
    sitting = seated([u for u, _a in await store.signed_up(conn, meeting.id)],
                     meeting.seats)[0]
    text = _REMINDERS[which]
    await outbox.queue(conn, await outgoing.to_people(
        conn, sitting, f"meeting:{meeting.id}:remind:{which}", services.default_language,
        lambda _: _(text).format(ref=meeting.ref, title=html.escape(meeting.title),
                                 when=local(meeting.starts_at, community),
                                 place=html.escape(meeting.place))), now)


_REMINDERS = {
    "day": N_("Tomorrow: {ref} “{title}”, {when}, {place}. If you cannot come, give your seat "
              "back under the post so someone waiting can have it."),
    "hour": N_("In an hour: {ref} “{title}”, {when}, {place}."),
}


async def coming(conn: Connection, meeting: Meeting, _: Translator) -> str:
    """Who is coming, and who waits, by name: for the organiser and the moderators."""
    signed = [u for u, _a in await store.signed_up(conn, meeting.id)]
    sitting, waiting = seated(signed, meeting.seats)
    names = await people.names(conn, signed)
    named = lambda users: ", ".join(html.escape(names[u].name) if u in names else "?"  # noqa: E731
                                    for u in users) or "—"
    return "\n".join([
        _("<b>{ref} “{title}”</b>: who is coming").format(ref=meeting.ref,
                                                          title=html.escape(meeting.title)),
        _("Seats ({count} of {seats}): {names}").format(count=len(sitting), seats=meeting.seats,
                                                       names=named(sitting)),
        _("Waiting ({count}): {names}").format(count=len(waiting), names=named(waiting))])
