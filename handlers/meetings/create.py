"""/meeting: a moderator calls a round-table meeting in private — the title, the agenda
(one item a line), when, where (a place or a call link) and how many seats — and it is
posted to the group with "Sign up". ``/meeting M-1`` shows who is coming."""

from __future__ import annotations

import html
from datetime import datetime, time, timedelta
from typing import Any

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.meetings import AGENDA_MAX, SEATS_MAX
from bot.domain.models import Community, Role
from bot.domain.typed import visible
from bot.i18n import N_, translator
from handlers.common import (
    MEETING_PREFILL,
    date_examples,
    draft_community,
    ensure_community,
    flow_reply,
    moderator_entries,
    person_translator,
    private_link,
    refuse,
    role_of,
    time_problem,
)
from handlers.meetings import lifecycle
from handlers.meetings.callbacks import FOR, SEAT
from storage import audit
from storage import meetings as store

CHOOSE, TITLE, AGENDA, WHEN, PLACE, SEATS, BACKGROUND = range(130, 137)
DRAFT = "meeting"
TITLE_MAX, ITEM_MAX, PLACE_MAX, BACKGROUND_MAX = 120, 200, 200, 1000
DEFAULT_TIME = time(19, 30)
NOT_MODERATOR = N_("Only moderators can call round-table meetings. You are not a moderator "
                   "of any group I am in.")


async def in_group(update: Update, context: YishiContext) -> None:
    """/meeting in the group: called in private; /meeting M-1: who is coming (moderators,
    in private)."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    assert chat is not None and message is not None and user is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    if await role_of(context, community, update) is not Role.MODERATOR:
        await message.reply_text(_("Sorry, only the group's moderators can do that. Nothing "
                                   "was changed."))
        return
    ref = (context.args or [""])[0].upper()
    if ref.startswith("M-") and ref[2:].isascii() and ref[2:].isdigit():
        reader = await person_translator(update, context)  # the list goes to them
        async with context.services.db.transaction() as conn:
            meeting = await store.by_number(conn, community.id, int(ref[2:]))
            listed = await lifecycle.coming(conn, meeting, reader) if meeting else None
        if listed is None:
            await message.reply_text(_("There is no {ref} in this group.").format(ref=ref))
            return
        try:
            await context.bot.send_message(user.id, listed)
        except Forbidden:
            await message.reply_text(_("Please start a private chat with me first, so that I "
                                       "can send you the list."))
            return
        await message.reply_text(_("I have sent you the list in private."))
        return
    await message.reply_text(_("Round-table meetings are called in a private chat with me, "
                               "then posted here."), reply_markup=private_link(
        context, "meeting", community, _("Call a meeting")))


async def _begin(update: Update, context: YishiContext, community: Community) -> int:
    context.user_data[DRAFT] = {"community": community.id}
    _ = await person_translator(update, context)
    prefill = context.user_data.pop(MEETING_PREFILL, None)
    if isinstance(prefill, dict) and prefill.get("community") == community.id:
        # Called for a topic: its title, the agenda and the time are known already.
        context.user_data[DRAFT].update(
            title=str(prefill["title"])[:TITLE_MAX], agenda=list(prefill["agenda"]),
            starts_at=prefill["starts_at"])
        await flow_reply(update, _("A round-table meeting for {agenda}, {when}. Where? A place "
                                   "or a call link. /cancel to stop.").format(
            agenda=html.escape(prefill["agenda"][0]),
            when=lifecycle.local(datetime.fromisoformat(prefill["starts_at"]), community)))
        return PLACE
    await flow_reply(update, _("What is the round-table meeting of {group} about? A short "
                               "title. /cancel to stop.").format(
        group=html.escape(community.title)))
    return TITLE


ENTRIES = moderator_entries(begin=_begin, draft=DRAFT, choose_state=CHOOSE, choose=FOR,
                            refusal=NOT_MODERATOR)


async def _draft(context: YishiContext) -> tuple[dict[str, Any], Community] | None:
    return await draft_community(context, DRAFT)


def _line(update: Update) -> str:
    message = update.effective_message
    return " ".join(visible(message.text if message else "").split())


async def title_typed(update: Update, context: YishiContext) -> int:
    found = await _draft(context)
    if found is None:
        return ConversationHandler.END
    _ = await person_translator(update, context)
    title = _line(update)
    if not title or len(title) > TITLE_MAX:
        await flow_reply(update, _("A title needs 1 to {limit} characters; yours has {length}. "
                                   "Please shorten it.").format(limit=TITLE_MAX,
                                                                length=len(title)))
        return TITLE
    found[0]["title"] = title
    await flow_reply(update, _("The agenda: one item a line, at most {most} (a topic can be "
                               "named by its number, like T-3).").format(most=AGENDA_MAX))
    return AGENDA


async def agenda_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    found = await _draft(context)
    if found is None or message is None:
        return ConversationHandler.END
    draft, community = found
    _ = await person_translator(update, context)
    items = [" ".join(visible(line).split()) for line in (message.text or "").splitlines()]
    items = [item for item in items if item]
    if not items or len(items) > AGENDA_MAX or any(len(i) > ITEM_MAX for i in items):
        await flow_reply(update, _("Please send 1 to {most} items, one a line, each at most "
                                   "{limit} characters.").format(most=AGENDA_MAX,
                                                                 limit=ITEM_MAX))
        return AGENDA
    draft["agenda"] = items
    await flow_reply(update, _("When? Type the local date and time ({examples}).").format(
        examples=date_examples(_, context.services.clock.now(), community.timezone,
                               at=DEFAULT_TIME)))
    return WHEN


async def when_typed(update: Update, context: YishiContext) -> int:
    found = await _draft(context)
    if found is None:
        return ConversationHandler.END
    draft, community = found
    _ = await person_translator(update, context)
    now = context.services.clock.now()
    try:
        at = parse_deadline(_line(update), now, community.timezone,
                            minimum=timedelta(hours=2), maximum=timedelta(days=180),
                            default_time=DEFAULT_TIME)
    except DeadlineError as exc:
        await flow_reply(update, time_problem(
            _, exc.code, now, community.timezone, at=DEFAULT_TIME,
            too_far=N_("Please give a time within the coming six months.")))
        return WHEN
    draft["starts_at"] = at.isoformat()
    await flow_reply(update, _("Where? A place (“the community room, building 3”) or a call "
                               "link."))
    return PLACE


async def place_typed(update: Update, context: YishiContext) -> int:
    found = await _draft(context)
    if found is None:
        return ConversationHandler.END
    _ = await person_translator(update, context)
    place = _line(update)
    if not place or len(place) > PLACE_MAX:
        await flow_reply(update, _("Please keep it between 1 and {limit} characters; yours has "
                                   "{length}.").format(limit=PLACE_MAX, length=len(place)))
        return PLACE
    found[0]["place"] = place
    await flow_reply(update, _("How many seats? Type a number from 1 to {most} (10 to 20 "
                               "suits a round table).").format(most=SEATS_MAX))
    return SEATS


async def seats_typed(update: Update, context: YishiContext) -> int:
    found = await _draft(context)
    if found is None or "place" not in found[0]:
        return ConversationHandler.END
    _ = await person_translator(update, context)
    typed = _line(update)
    if not typed.isascii() or not typed.isdigit() or not 1 <= int(typed) <= SEATS_MAX:
        await flow_reply(update, _("Please type a number from 1 to {most}.").format(
            most=SEATS_MAX))
        return SEATS
    found[0]["seats"] = int(typed)
    await flow_reply(update, _("Background for the agenda, posted with the meeting: a text, a "
                               "photo or a document (a plan, a quote). Or /skip."))
    return BACKGROUND


async def background_sent(update: Update, context: YishiContext) -> int:
    """The last answer: posted to the group."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    found = await _draft(context)
    if found is None or "seats" not in found[0]:
        return ConversationHandler.END
    draft, community = found
    _ = await person_translator(update, context)
    background: dict[str, str] = {}
    if not (message.text or "").startswith("/skip"):
        text = " ".join(visible(message.text or message.caption or "").split())
        if len(text) > BACKGROUND_MAX:
            await flow_reply(update, _("Please keep it under {limit} characters; yours has "
                                       "{length}.").format(limit=BACKGROUND_MAX,
                                                           length=len(text)))
            return BACKGROUND
        background = {k: v for k, v in (
            ("text", text), ("photo", message.photo[-1].file_id if message.photo else ""),
            ("document", message.document.file_id if message.document else "")) if v}
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        made = await lifecycle.call(
            conn, services, community, title=draft["title"], agenda=draft["agenda"],
            starts_at=datetime.fromisoformat(draft["starts_at"]), place=draft["place"],
            seats=draft["seats"], organiser_id=user.id, now=now, background=background or None)
        await audit.record(conn, community_id=community.id, actor_id=user.id,
                           action="meeting.call", at=now, details={"meeting": made.ref})
    context.user_data.pop(DRAFT, None)
    services.outbox.kick()
    await flow_reply(update, _("Posted to {group} as {ref}. I will remind those with a seat "
                               "the day before and an hour before; when it starts, I will "
                               "ask you who came and for the minutes.").format(
        group=html.escape(community.title), ref=made.ref))
    return ConversationHandler.END


_SEAT_ANSWERS = {
    "seat": N_("You have a seat at {ref}. I will remind you the day before."),
    "waiting": N_("Every seat is taken; you are on the waiting list for {ref} and will be "
                  "told if a seat comes free."),
    "already": N_("You are already signed up for {ref}."),
    "closed": N_("{ref} takes no more sign-ups."),
    "given": N_("Your place at {ref} is given back."),
    "none": N_("You were not signed up for {ref}."),
}


async def seat_pressed(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = SEAT.parse(query.data)
    assert values is not None
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        meeting = await store.get(conn, values[0])
        if meeting is None:
            code = None
        elif values[1] == "take":
            code = await lifecycle.take_seat(conn, services, meeting, user.id, now)
        else:
            code = await lifecycle.give_seat_back(conn, services, meeting, user.id, now)
    if meeting is None or code is None:
        await refuse(update, context, N_("This button is out of date."))
        return
    services.outbox.kick()
    _ = await person_translator(update, context)
    await query.answer(_(_SEAT_ANSWERS[code]).format(ref=meeting.ref), show_alert=True)
