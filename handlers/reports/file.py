"""/report: a resident files a report in private (category, photos, what is wrong, where,
anonymous or not) in at most four steps; it gets a reference number and goes to the
handlers."""

from __future__ import annotations

import html
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.deeplinks import DeepLink
from bot.domain.models import Community
from bot.domain.points import Action
from bot.domain.reports import timers_when_filed
from bot.domain.residents import ResidentStatus
from bot.domain.typed import visible
from bot.i18n import N_, translator
from bot.points import award
from bot.report_names import (
    AREA_NAMES,
    CATEGORY_NAMES,
    display_name,
)
from handlers.common import (
    communities_of,
    ensure_community,
    flow_reply,
    is_group_member,
    note_person,
    person_translator,
    private_link,
    refuse,
)
from handlers.reports import callbacks
from handlers.reports.lifecycle import (
    _arm,
    limits_for,
)
from handlers.reports.routing import deliver_new, route_armed
from handlers.reports.texts import _summary
from storage import communities, residents
from storage import reports as store

CATEGORY, PHOTOS, DESCRIPTION, WHERE, CONFIRM = range(40, 45)


DRAFT = "report"


PREFILL = "report_prefill"


def _draft(context: YishiContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


async def report_in_group(update: Update, context: YishiContext) -> None:
    """/report in the group (or in reply to a photo there): filing continues in private."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    replied = message.reply_to_message
    if user is not None and replied is not None and replied.photo:
        context.application.user_data[user.id][PREFILL] = {
            "community": community.id, "photos": [replied.photo[-1].file_id],
            "description": replied.caption or ""}
    await message.reply_text(
        _("Reports are filed in a private chat with me. Press the button to continue."),
        reply_markup=private_link(context, "report", community, _("Report a problem")))


async def report_command(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    mine = await communities_of(context, user.id)
    if not mine:
        await flow_reply(update, _("I do not know your building's group yet. Send /report in "
                                   "the group to start from there."))
        return ConversationHandler.END
    return await _begin(update, context, mine[0])


async def report_from_link(update: Update, context: YishiContext) -> int:
    context.user_data.pop(DRAFT, None)
    link = DeepLink.parse(" ".join(context.args or []))
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, link.community_id) if link else None
    if community is None or not community.active:
        _ = await person_translator(update, context)
        await flow_reply(update, _("That link is not valid any more, so I started from the "
                                   "beginning."))
        return ConversationHandler.END
    return await _begin(update, context, community)


async def _begin(update: Update, context: YishiContext, community: Community) -> int:
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    if not await is_group_member(context, community, user.id):
        await flow_reply(update, _("Only members of {group} can report problems there.")
                         .format(group=html.escape(community.title)))
        return ConversationHandler.END
    async with context.services.db.transaction() as conn:
        await note_person(conn, user, context.services.clock.now())
    draft = {"community": community.id, "photos": [], "albums": [], "description": ""}
    prefill = context.user_data.pop(PREFILL, None)
    if prefill and prefill.get("community") == community.id:
        draft["photos"] = prefill["photos"]
        draft["description"] = prefill["description"]
    context.user_data[DRAFT] = draft
    categories = context.services.settings.reports.categories
    buttons = [InlineKeyboardButton(display_name(CATEGORY_NAMES, c, _),
                                    callback_data=callbacks.CATEGORY.data(c))
               for c in categories]
    await flow_reply(update, _("What kind of problem is it?"), InlineKeyboardMarkup(
        [buttons[i:i + 4] for i in range(0, len(buttons), 4)]))
    return CATEGORY


async def category_button(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    category = (query.data or "").rsplit(":", 1)[-1]
    if category not in context.services.settings.reports.categories or DRAFT not in \
            context.user_data:
        await refuse(update, context, N_("This button is out of date."))
        return CATEGORY
    draft = _draft(context)
    draft["category"] = category
    _ = await person_translator(update, context)
    if draft["photos"]:
        return await _ask_where(update, context) if draft["description"] \
            else await _ask_description(update, context)
    await flow_reply(update, _("Send one or more photos of it (an album is fine), then press "
                               "Done."), InlineKeyboardMarkup([[
                                   InlineKeyboardButton(_("Done"),
                                                        callback_data=callbacks.PHOTOS_DONE.data()),
                                   InlineKeyboardButton(_("No photo"),
                                                        callback_data=callbacks.PHOTOS_DONE.data())]]))
    return PHOTOS


async def _lost(update: Update, context: YishiContext) -> int:
    """The flow's state is gone (its draft was dropped while the flow went on): say so and
    end it, instead of failing on what is missing."""
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    await update.effective_message.reply_text(_(
        "I lost the report you were writing, sorry. Nothing was filed. Send /report to start "
        "again."))
    return ConversationHandler.END


async def photo_sent(update: Update, context: YishiContext) -> int:
    """Photos, one by one or as an album: an album gets one answer, not one per photo."""
    message = update.effective_message
    assert message is not None and message.photo
    draft = _draft(context)
    if "photos" not in draft or "albums" not in draft:
        return await _lost(update, context)
    file_id = message.photo[-1].file_id
    if len(draft["photos"]) >= 10 or file_id in draft["photos"]:
        return PHOTOS  # full, or the same photo again (Telegram redelivers after a crash)
    draft["photos"].append(file_id)
    if visible(message.caption) and not draft["description"]:
        draft["description"] = visible(message.caption)[:1000]
    album = message.media_group_id
    if album is not None and album in draft["albums"]:
        return PHOTOS
    if album is not None:
        draft["albums"].append(album)
    _ = await person_translator(update, context)
    await message.reply_text(_("Got it. More photos, or press Done."),
                             reply_markup=InlineKeyboardMarkup([[
                                 InlineKeyboardButton(_("Done"),
                                                      callback_data=callbacks.PHOTOS_DONE.data())]]))
    return PHOTOS


async def photos_done(update: Update, context: YishiContext) -> int:
    if _draft(context).get("description"):
        return await _ask_where(update, context)
    return await _ask_description(update, context)


async def _ask_description(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    await flow_reply(update, _("What is wrong? A sentence or two, or a voice message."))
    return DESCRIPTION


async def description_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    draft = _draft(context)
    if message.voice is not None:
        draft["voice"] = message.voice.file_id
        draft["description"] = draft.get("description") or "🎤"
    else:
        text = visible(message.text)
        if not text:
            _ = await person_translator(update, context)
            await message.reply_text(_("That message shows nothing. What is wrong? A sentence "
                                       "or two, or a voice message."))
            return DESCRIPTION
        draft["description"] = text[:1000]
    return await _ask_where(update, context)


async def _ask_where(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    draft = _draft(context)
    async with context.services.db.transaction() as conn:
        ties = await residents.of_person(conn, user.id, draft["community"])
    rows = [[InlineKeyboardButton(_("My unit {unit}").format(unit=address.code),
                                  callback_data=callbacks.WHERE_UNIT.data(tie.unit_id))]
            for tie, address in ties if tie.status is ResidentStatus.VERIFIED]
    areas = [InlineKeyboardButton(display_name(AREA_NAMES, a, _),
                                  callback_data=callbacks.WHERE_AREA.data(i))
             for i, a in enumerate(context.services.settings.reports.common_areas)]
    rows += [areas[i:i + 4] for i in range(0, len(areas), 4)]
    await flow_reply(update, _("Where is it? Press a place, send a location pin, or type it."),
                     InlineKeyboardMarkup(rows))
    return WHERE


async def where_button(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    parts = (query.data or "").split(":")
    draft = _draft(context)
    _ = await person_translator(update, context)
    areas = context.services.settings.reports.common_areas
    if len(parts) == 4 and parts[2] == "u" and parts[3].isdigit():
        async with context.services.db.transaction() as conn:
            ties = await residents.of_person(conn, user.id, draft.get("community"))
        found = [(tie, address) for tie, address in ties
                 if tie.unit_id == int(parts[3]) and tie.status is ResidentStatus.VERIFIED]
        if not found:
            await refuse(update, context, N_("This button is out of date."))
            return WHERE
        draft.update(where=found[0][1].code, unit=found[0][0].unit_id)
    elif len(parts) == 4 and parts[2] == "a" and parts[3].isdigit() \
            and int(parts[3]) < len(areas):
        draft.update(where=display_name(AREA_NAMES, areas[int(parts[3])], _), unit=None)
    else:
        await refuse(update, context, N_("This button is out of date."))
        return WHERE
    return await _confirm(update, context)


async def where_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    draft = _draft(context)
    if message.location is not None:
        draft.update(latitude=message.location.latitude, longitude=message.location.longitude,
                     where=f"{message.location.latitude:.5f}, {message.location.longitude:.5f}",
                     unit=None)
    else:
        where = visible(message.text)
        if not where:
            _ = await person_translator(update, context)
            await message.reply_text(_("That message shows nothing. Where is it? Type the "
                                       "place, send a location pin, or use the buttons above."))
            return WHERE
        draft.update(where=where[:200], unit=None)
    return await _confirm(update, context)


async def _confirm(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    draft = _draft(context)
    await flow_reply(update, _summary(draft, _), InlineKeyboardMarkup([
        [InlineKeyboardButton(_("Send the report"), callback_data=callbacks.SUBMIT.data())],
        [InlineKeyboardButton(_("Show my name") if draft.get("anonymous")
                              else _("Stay anonymous"), callback_data=callbacks.ANONYMOUS.data())],
    ]))
    return CONFIRM


async def toggle_anonymous(update: Update, context: YishiContext) -> int:
    draft = _draft(context)
    draft["anonymous"] = not draft.get("anonymous", False)
    return await _confirm(update, context)


async def submit(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    draft = context.user_data.pop(DRAFT, {})
    _ = await person_translator(update, context)
    services = context.services
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, draft.get("community", 0))
    if community is None or "where" not in draft:
        await flow_reply(update, _("This button is out of date."))
        return ConversationHandler.END
    now = services.clock.now()
    async with services.db.transaction() as conn:
        report = await store.create(
            conn, community_id=community.id, now=now, photos=draft["photos"],
            category=draft["category"], description=draft["description"],
            voice_file_id=draft.get("voice"), where_text=draft["where"],
            unit_id=draft.get("unit"), latitude=draft.get("latitude"),
            longitude=draft.get("longitude"), reporter_id=user.id,
            anonymous=bool(draft.get("anonymous")))
        await award(conn, services.settings.points, community, user_id=user.id,
                    action=Action.REPORT, ref=f"report:{report.id}", now=now)
        # Its time limits are written with it: a crash right after cannot leave it without.
        await _arm(conn, report.id, timers_when_filed(
            limits_for(services.settings, report.category), now), now)
        await route_armed(conn, report.id, now)
    await flow_reply(update, _("Thank you! Your report is {ref}. The handlers have it; I will "
                               "tell you of every change.").format(ref=report.ref) + "\n\n"
                     + _summary(draft, _).split("\n", 1)[1])
    await deliver_new(context.bot, services, community, report)
    return ConversationHandler.END
