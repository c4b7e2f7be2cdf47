"""/volunteer: a moderator writes an activity in private (title, when, how long, seats,
kind) and it is posted to the group."""

from __future__ import annotations

import html
from datetime import datetime, time, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ConversationHandler,
)

from bot.context import YishiContext
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.helping import Kind, hours
from bot.domain.models import Community, Role
from bot.domain.typed import visible
from bot.domain.volunteering import (
    SEATS_MAX,
)
from bot.i18n import N_, translator
from handlers import outgoing
from handlers.common import (
    date_examples,
    draft_community,
    ensure_community,
    flow_reply,
    is_anonymous_admin,
    moderator_entries,
    person_translator,
    private_link,
    refuse,
    role_of,
    time_problem,
)
from handlers.helping.lifecycle import kind_name
from handlers.volunteering.attendance import undo
from handlers.volunteering.callbacks import FOR, KIND, LENGTH
from handlers.volunteering.lifecycle import ATTENDANCE, POSTED, post_text
from storage import audit, due_work, outbox
from storage import volunteering as store

CHOOSE, TITLE, WHEN, LENGTH_STATE, SEATS, KIND_STATE = range(100, 106)
DRAFT = "activity"
TITLE_MAX = 120
DEFAULT_TIME = time(9, 0)
NOT_MODERATOR = N_("Only moderators can post volunteer activities. You are not a moderator "
                   "of any group I am in.")


async def in_group(update: Update, context: YishiContext) -> None:
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    if await role_of(context, community, update) is not Role.MODERATOR:
        await message.reply_text(_("Sorry, only the group's moderators can do that. Nothing "
                                   "was changed."))
        return
    args = context.args or []
    if args and args[0].lower() == "undo":
        await message.reply_text(await undo(update, context, community, args[1:], _))
        return
    text = _("Volunteer activities are written in a private chat with me, then posted here.")
    if is_anonymous_admin(update, community):
        text += " " + _("Anonymous administrators: open the link from your own account.")
    await message.reply_text(text, reply_markup=private_link(
        context, "volunteer", community, _("Post a volunteer activity")))


async def _begin(update: Update, context: YishiContext, community: Community) -> int:
    context.user_data[DRAFT] = {"community": community.id}
    _ = await person_translator(update, context)
    await flow_reply(update, _("What is the activity for {group}? A short title, e.g. “Garden "
                               "day in the courtyard”. /cancel to stop.").format(
        group=html.escape(community.title)))
    return TITLE


ENTRIES = moderator_entries(begin=_begin, draft=DRAFT, choose_state=CHOOSE, choose=FOR,
                            refusal=NOT_MODERATOR)


async def _community(context: YishiContext) -> tuple[dict[str, Any], Community] | None:
    return await draft_community(context, DRAFT)


async def title_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    found = await _community(context)
    if found is None:
        return ConversationHandler.END
    draft, community = found
    _ = await person_translator(update, context)
    title = " ".join(visible(message.text or "").split())
    if not title or len(title) > TITLE_MAX:
        await message.reply_text(_("A title needs 1 to {limit} characters; yours has {length}. "
                                   "Please shorten it.").format(limit=TITLE_MAX,
                                                                length=len(title)))
        return TITLE
    draft["title"] = title
    await message.reply_text(_("When? Type the local date and time ({examples}).").format(
        examples=date_examples(_, context.services.clock.now(), community.timezone,
                               at=DEFAULT_TIME)))
    return WHEN


async def when_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    found = await _community(context)
    if found is None or "title" not in found[0]:
        return ConversationHandler.END
    draft, community = found
    _ = await person_translator(update, context)
    now = context.services.clock.now()
    try:
        at = parse_deadline(message.text or "", now, community.timezone,
                            minimum=timedelta(hours=1), maximum=timedelta(days=180),
                            default_time=DEFAULT_TIME)
    except DeadlineError as exc:
        await message.reply_text(time_problem(
            _, exc.code, now, community.timezone, at=DEFAULT_TIME,
            too_far=N_("Please give a time within the coming six months.")))
        return WHEN
    draft["starts_at"] = at.isoformat()
    row = [InlineKeyboardButton(_("{hours} h").format(hours=hours(half * 30)),
                                callback_data=LENGTH.data(half)) for half in (2, 3, 4, 6, 8, 12)]
    await message.reply_text(_("How long will it take?"),
                             reply_markup=InlineKeyboardMarkup([row[:3], row[3:]]))
    return LENGTH_STATE


async def length_chosen(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    chosen = LENGTH.parse(query.data)
    found = await _community(context)
    if found is None or "starts_at" not in found[0] or not chosen or chosen[0] == 0:
        await refuse(update, context, N_("This button is out of date."))
        return LENGTH_STATE
    found[0]["minutes"] = chosen[0] * 30
    _ = await person_translator(update, context)
    await flow_reply(update, _("How many seats? Type a number from 1 to {most}.").format(
        most=SEATS_MAX))
    return SEATS


async def seats_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    found = await _community(context)
    if found is None or "minutes" not in found[0]:
        return ConversationHandler.END
    _ = await person_translator(update, context)
    typed = (message.text or "").strip()
    if not typed.isascii() or not typed.isdigit() or not 1 <= int(typed) <= SEATS_MAX:
        await message.reply_text(_("Please type a number from 1 to {most}.").format(
            most=SEATS_MAX))
        return SEATS
    found[0]["seats"] = int(typed)
    kinds = [InlineKeyboardButton(kind_name(k, _), callback_data=KIND.data(k.value))
             for k in Kind]
    await message.reply_text(_("What kind of service is it? Its time credits follow the "
                               "kind's rate."),
                             reply_markup=InlineKeyboardMarkup(
                                 [kinds[n:n + 2] for n in range(0, len(kinds), 2)]))
    return KIND_STATE


async def kind_chosen(update: Update, context: YishiContext) -> int:
    """The last answer: posted to the group."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    chosen = KIND.parse(query.data)
    found = await _community(context)
    if found is None or "seats" not in found[0] or chosen is None:
        await refuse(update, context, N_("This button is out of date."))
        return KIND_STATE
    draft, community = found
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        made = await store.create(
            conn, community_id=community.id, title=draft["title"], kind=Kind(chosen[0]),
            starts_at=datetime.fromisoformat(draft["starts_at"]), minutes=draft["minutes"],
            seats=draft["seats"], organiser_id=user.id, now=now)
        text, markup = await post_text(conn, made, community)
        await outbox.queue(conn, [outgoing.message(
            f"activity:{made.id}:post", community.chat_id, text, markup=markup,
            remember={"what": POSTED, "activity": made.id,
                      "shows": outgoing.shows(text, markup)})], now)
        await due_work.schedule(conn, kind=ATTENDANCE, key=str(made.id),
                                due_at=made.ends_at + timedelta(minutes=30), now=now,
                                payload={"activity": made.id})
        await audit.record(conn, community_id=community.id, actor_id=user.id,
                           action="activity.post", at=now, details={"activity": made.ref})
    context.user_data.pop(DRAFT, None)
    services.outbox.kick()
    _ = await person_translator(update, context)
    await flow_reply(update, _("Posted to {group} as {ref}. After it, I will ask you who came.")
                     .format(group=html.escape(community.title), ref=made.ref))
    return ConversationHandler.END
