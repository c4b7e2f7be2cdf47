"""/needhelp and /offerhelp: a resident asks for help or offers it, in private — the kind of
service, what exactly, when, for how long, and whether the group sees it or only the
moderators — and it is posted with an "I can help" (or "I would like that") button."""

from __future__ import annotations

import html
from datetime import time, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.deeplinks import DeepLink
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.helping import Audience, Kind, Side, hours
from bot.domain.models import Community, Role
from bot.i18n import N_, translator
from bot.roles import chat_admin_ids
from handlers.common import (
    communities_of,
    date_examples,
    ensure_community,
    flow_reply,
    is_group_member,
    note_person,
    person_translator,
    private_link,
    refuse,
    time_problem,
    typed_within,
)
from handlers.helping import callbacks
from handlers.helping.lifecycle import publish, withdraw_button
from handlers.helping.texts import KIND_NAMES, local
from storage import communities, memberships

CHOOSE, KIND, TEXT, WHEN, LENGTH, AUDIENCE = range(90, 96)
DRAFT = "help"
TEXT_MAX = 500
# A day typed without a time of day means this time that day.
DEFAULT_TIME = time(10, 0)


async def in_group(update: Update, context: YishiContext) -> None:
    """/needhelp or /offerhelp in the group: continued in private."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    offering = (message.text or "").lstrip("/").lower().startswith("offerhelp")
    await message.reply_text(
        _("Asking for help and offering it are done in a private chat with me. Press the "
          "button to continue."),
        reply_markup=private_link(context, "offerhelp" if offering else "needhelp",
                                  community,
                                  _("Offer help") if offering else _("Ask for help")))


def _side(update: Update) -> Side:
    text = (update.effective_message.text or "") if update.effective_message else ""
    return Side.OFFER if "offerhelp" in text.lower() else Side.NEED


async def command(update: Update, context: YishiContext) -> int:
    """/needhelp or /offerhelp in private: for the one group, or choose."""
    user = update.effective_user
    assert user is not None
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    mine = await communities_of(context, user.id)
    side = _side(update)
    if not mine:
        await flow_reply(update, _("I do not know your building's group yet. Send /needhelp "
                                   "or /offerhelp in the group to start from there."))
        return ConversationHandler.END
    if len(mine) > 1:
        context.user_data[DRAFT] = {"side": side.value}
        await flow_reply(update, _("For which building?"), InlineKeyboardMarkup(
            [[InlineKeyboardButton(c.title, callback_data=callbacks.FOR.data(c.id))]
             for c in mine]))
        return CHOOSE
    return await _begin(update, context, mine[0], side)


async def from_link(update: Update, context: YishiContext) -> int:
    """/start needhelp_<community> (or offerhelp_), from the group's button."""
    context.user_data.pop(DRAFT, None)
    link = DeepLink.parse(" ".join(context.args or []))
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, link.community_id) if link else None
    if link is None or community is None or not community.active:
        _ = await person_translator(update, context)
        await flow_reply(update, _("That link is not valid any more. Send /needhelp or "
                                   "/offerhelp to start again."))
        return ConversationHandler.END
    side = Side.OFFER if link.action == "offerhelp" else Side.NEED
    return await _begin(update, context, community, side)


async def community_chosen(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    wanted = callbacks.FOR.parse(query.data or "")
    mine = {c.id: c for c in await communities_of(context, user.id)}
    draft = context.user_data.get(DRAFT)
    if draft is None or wanted is None or wanted[0] not in mine:
        await refuse(update, context, N_("This button is out of date."))
        return CHOOSE
    return await _begin(update, context, mine[wanted[0]], Side(draft["side"]))


async def _begin(update: Update, context: YishiContext, community: Community,
                 side: Side) -> int:
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    if not await is_group_member(context, community, user.id):
        await flow_reply(update, _("Only members of {group} can ask or offer help there.")
                         .format(group=html.escape(community.title)))
        return ConversationHandler.END
    async with context.services.db.transaction() as conn:
        await note_person(conn, user, context.services.clock.now())
    context.user_data[DRAFT] = {"community": community.id, "side": side.value}
    question = _("What kind of help do you need?") if side is Side.NEED else \
        _("What kind of help can you offer?")
    kinds = [InlineKeyboardButton(_(KIND_NAMES[k]), callback_data=callbacks.KIND.data(k.value))
             for k in Kind]
    await flow_reply(update, question + " " + _("/cancel to stop."), InlineKeyboardMarkup(
        [kinds[n:n + 2] for n in range(0, len(kinds), 2)]))
    return KIND


async def kind_chosen(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    draft = context.user_data.get(DRAFT)
    chosen = callbacks.KIND.parse(query.data or "")
    if draft is None or "community" not in draft or chosen is None:
        await refuse(update, context, N_("This button is out of date."))
        return KIND
    draft["kind"] = chosen[0]
    _ = await person_translator(update, context)
    if draft["side"] == Side.NEED.value:
        ask = _("What do you need, in a sentence or two? For example: someone to carry "
                "groceries up for my mother on Saturday.")
    else:
        ask = _("What can you do, in a sentence or two? For example: I can fix bicycles.")
    await flow_reply(update, ask)
    return TEXT


async def text_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    draft = context.user_data.get(DRAFT)
    if draft is None or "kind" not in draft:
        return ConversationHandler.END
    _ = await person_translator(update, context)
    text = await typed_within(message, _, TEXT_MAX)
    if text is None:
        return TEXT
    draft["text"] = text
    community = await _community(context, draft)
    if community is None:
        return ConversationHandler.END
    await message.reply_text(_("When? Type the local date and time ({examples}).").format(
        examples=date_examples(_, context.services.clock.now(), community.timezone,
                               at=DEFAULT_TIME)))
    return WHEN


async def _community(context: YishiContext, draft: dict) -> Community | None:
    async with context.services.db.transaction() as conn:
        return await communities.by_id(conn, draft["community"])


async def when_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    draft = context.user_data.get(DRAFT)
    if draft is None or "text" not in draft:
        return ConversationHandler.END
    _ = await person_translator(update, context)
    community = await _community(context, draft)
    if community is None:
        return ConversationHandler.END
    now = context.services.clock.now()
    try:
        at = parse_deadline(message.text or "", now, community.timezone,
                            minimum=timedelta(minutes=10), maximum=timedelta(days=90),
                            default_time=DEFAULT_TIME)
    except DeadlineError as exc:
        await message.reply_text(time_problem(
            _, exc.code, now, community.timezone, at=DEFAULT_TIME,
            too_far=N_("Please give a time within the coming three months.")))
        return WHEN
    draft["starts_at"] = at.isoformat()
    row = [InlineKeyboardButton(_("{hours} h").format(hours=hours(half * 30)),
                                callback_data=callbacks.LENGTH.data(half))
           for half in (1, 2, 3, 4, 6, 8)]
    await message.reply_text(_("{when}. About how long will it take?").format(
        when=local(at, community)), reply_markup=InlineKeyboardMarkup([row[:3], row[3:]]))
    return LENGTH


async def length_chosen(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    draft = context.user_data.get(DRAFT)
    chosen = callbacks.LENGTH.parse(query.data or "")
    if draft is None or "starts_at" not in draft or chosen is None or chosen[0] == 0:
        await refuse(update, context, N_("This button is out of date."))
        return LENGTH
    draft["minutes"] = chosen[0] * 30
    _ = await person_translator(update, context)
    await flow_reply(update, _("Who should see it?"), InlineKeyboardMarkup([[
        InlineKeyboardButton(_("The whole group"),
                             callback_data=callbacks.AUDIENCE.data(Audience.GROUP.value)),
        InlineKeyboardButton(_("Only the moderators"),
                             callback_data=callbacks.AUDIENCE.data(Audience.MODERATORS.value)),
    ]]))
    return AUDIENCE


async def audience_chosen(update: Update, context: YishiContext) -> int:
    """The last answer: posted."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    draft = context.user_data.get(DRAFT)
    chosen = callbacks.AUDIENCE.parse(query.data or "")
    if draft is None or "minutes" not in draft or chosen is None:
        await refuse(update, context, N_("This button is out of date."))
        return AUDIENCE
    community = await _community(context, draft)
    if community is None:
        return ConversationHandler.END
    draft["audience"] = chosen[0]
    draft["kind"] = Kind(draft["kind"])
    services = context.services
    moderators: list[int] = []
    if chosen[0] == Audience.MODERATORS.value:
        async with services.db.transaction() as conn:
            granted = await memberships.with_role(conn, community.id, Role.MODERATOR)
        moderators = sorted(set(await chat_admin_ids(context.bot, community.chat_id))
                            | set(granted))
    now = services.clock.now()
    async with services.db.transaction() as conn:
        made = await publish(conn, services, community, moderators=moderators, draft=draft,
                             author_id=user.id, now=now)
    context.user_data.pop(DRAFT, None)
    services.outbox.kick()
    _ = await person_translator(update, context)
    where = _("the group") if made.audience is Audience.GROUP else _("the moderators")
    await flow_reply(update, _("Posted to {where} as {ref}. I will tell you when a neighbour "
                               "answers, and you choose.").format(where=where, ref=made.ref),
                     withdraw_button(made, _))
    return ConversationHandler.END
