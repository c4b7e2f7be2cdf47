"""/progress: the owner (or a moderator) posts how far a decision is (percent, what
changed, photos, the next step); the group and the followers hear."""

from __future__ import annotations

import html

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.deeplinks import DeepLink
from bot.domain.decisions import (
    OPEN_DECISIONS,
    Decision,
    after_progress,
    parse_reference,
)
from bot.domain.models import Community, Role
from bot.i18n import N_, translator
from handlers.common import (
    communities_of,
    ensure_community,
    flow_reply,
    person_translator,
    private_link,
    refuse,
    user_role,
)
from handlers.decisions import callbacks
from handlers.decisions.create import PROGRESS
from handlers.decisions.lifecycle import TEXT_MAX, _arm_reminders, _get, _may_manage, _queue_update
from storage import decisions as store

PICK, PERCENT, CHANGED, NEXT_STEP = range(64, 68)


async def _progress_choices(context: YishiContext, user_id: int,
                            only: list[Community] | None = None) -> list[tuple[Decision,
                                                                                Community]]:
    """Open decisions this person may post progress on: theirs, or all as a moderator."""
    found = []
    for community in only or await communities_of(context, user_id):
        moderator = await user_role(context, community, user_id) is Role.MODERATOR
        async with context.services.db.transaction() as conn:
            listed = await store.of_community(conn, community.id)
        found += [(d, community) for d in listed if d.status in OPEN_DECISIONS
                  and (moderator or d.owner_id == user_id)]
    return found


async def progress_command(update: Update, context: YishiContext) -> int:
    """/progress [D-3] in private."""
    user = update.effective_user
    assert user is not None
    context.user_data.pop(PROGRESS, None)
    _ = await person_translator(update, context)
    choices = await _progress_choices(context, user.id)
    args = context.args or []
    if args:
        number = parse_reference(args[0])
        picked = [(d, c) for d, c in choices if d.number == number]
        if not picked:
            await flow_reply(update, _("You cannot post progress on that decision: it is not "
                                       "yours, or it is finished."))
            return ConversationHandler.END
        return await _ask_percent(update, context, *picked[0])
    return await _offer_choices(update, context, choices)


async def progress_from_link(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    context.user_data.pop(PROGRESS, None)
    link = DeepLink.parse(" ".join(context.args or []))
    mine = [c for c in await communities_of(context, user.id)
            if link is not None and c.id == link.community_id]
    return await _offer_choices(update, context, await _progress_choices(context, user.id,
                                                                         mine or None))


async def _offer_choices(update: Update, context: YishiContext,
                         choices: list[tuple[Decision, Community]]) -> int:
    _ = await person_translator(update, context)
    if not choices:
        await flow_reply(update, _("You have no open decisions to report progress on."))
        return ConversationHandler.END
    if len(choices) == 1:
        return await _ask_percent(update, context, *choices[0])
    await flow_reply(update, _("Progress on which decision?"), InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"{d.ref} · {d.title}"[:60],
                               callback_data=callbacks.PICK.data(d.id))]
         for d, _c in choices[:20]]))
    return PICK


async def decision_picked(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    wanted = (update.callback_query.data or "").rsplit(":", 1)[-1] \
        if update.callback_query else ""
    choices = {str(d.id): (d, c) for d, c in await _progress_choices(context, user.id)}
    if wanted not in choices:
        await refuse(update, context, N_("This button is out of date."))
        return PICK
    return await _ask_percent(update, context, *choices[wanted])


async def _ask_percent(update: Update, context: YishiContext, decision: Decision,
                       community: Community) -> int:
    context.user_data[PROGRESS] = {"decision": decision.id, "photos": [], "albums": []}
    _ = await person_translator(update, context)
    buttons = [InlineKeyboardButton(f"{p}%", callback_data=callbacks.PERCENT.data(p))
               for p in range(10, 101, 10)]
    await flow_reply(update, _("{ref} “{title}” is at {percent}%. How far along is it now? "
                               "Press or type a number.").format(
        ref=decision.ref, title=html.escape(decision.title), percent=decision.progress),
        InlineKeyboardMarkup([buttons[:5], buttons[5:]]))
    return PERCENT


async def percent_chosen(update: Update, context: YishiContext) -> int:
    draft = context.user_data.get(PROGRESS)
    _ = await person_translator(update, context)
    raw = (update.callback_query.data or "").rsplit(":", 1)[-1] if update.callback_query \
        else ((update.effective_message.text if update.effective_message else "") or "")
    raw = raw.strip().rstrip("%")
    if draft is None:
        return ConversationHandler.END
    if not raw.isdigit() or not 0 <= int(raw) <= 100:
        await flow_reply(update, _("Please give a number from 0 to 100."))
        return PERCENT
    draft["percent"] = int(raw)
    await flow_reply(update, _("What changed? A few words; you may send photos (before / "
                               "after) with a caption."))
    return CHANGED


async def changed_typed(update: Update, context: YishiContext) -> int:
    """The text, or photos with a caption; an album gets one answer."""
    message = update.effective_message
    assert message is not None
    draft = context.user_data.get(PROGRESS)
    _ = await person_translator(update, context)
    if draft is None:
        return ConversationHandler.END
    text = (message.text or message.caption or "").strip()
    if message.photo:
        if len(draft["photos"]) < 10 and message.photo[-1].file_id not in draft["photos"]:
            draft["photos"].append(message.photo[-1].file_id)
        if text:
            draft["text"] = text[:TEXT_MAX]
        album = message.media_group_id
        if album is not None and album in draft["albums"]:
            return CHANGED
        if album is not None:
            draft["albums"].append(album)
        if not draft.get("text"):
            await message.reply_text(_("Got the photo. Now a few words: what changed?"))
            return CHANGED
    elif not text:
        await message.reply_text(_("A few words, please: what changed?"))
        return CHANGED
    elif len(text) > TEXT_MAX:
        await message.reply_text(_("Please keep it under {limit} characters.").format(
            limit=TEXT_MAX))
        return CHANGED
    else:
        draft["text"] = text
    await message.reply_text(_("And the next step? Type it, or press Skip."),
                             reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
                                 _("Skip"), callback_data=callbacks.NO_NEXT_STEP.data())]]))
    return NEXT_STEP


async def late_photo(update: Update, context: YishiContext) -> int:
    """The rest of an album (or another photo) arriving after the question moved on."""
    message = update.effective_message
    assert message is not None and message.photo
    draft = context.user_data.get(PROGRESS)
    if draft is not None and len(draft["photos"]) < 10 \
            and message.photo[-1].file_id not in draft["photos"]:
        draft["photos"].append(message.photo[-1].file_id)
    return NEXT_STEP


async def next_step_typed(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    draft = context.user_data.pop(PROGRESS, None)
    _ = await person_translator(update, context)
    if draft is None or "text" not in draft:
        return ConversationHandler.END
    next_step = None
    if update.callback_query is None and update.effective_message is not None:
        next_step = (update.effective_message.text or "").strip()[:TEXT_MAX] or None
    decision, community = await _get(context, draft['decision'])
    if decision is None or community is None or decision.status not in OPEN_DECISIONS \
            or not await _may_manage(context, decision, community, user.id, owner_too=True):
        await flow_reply(update, _("This decision cannot take progress any more."))
        return ConversationHandler.END
    status = after_progress(decision.status, draft["percent"])
    services = context.services
    now = services.clock.now()
    by_moderator = await user_role(context, community, user.id) is Role.MODERATOR
    # The update, its reminders and its posts to the group and the followers: together.
    async with services.db.transaction() as conn:
        posted = await store.record(conn, decision, status=status, percent=draft["percent"],
                                    actor_id=user.id, now=now, text=draft["text"],
                                    next_step=next_step, photos=draft["photos"])
        if posted:
            await _arm_reminders(conn, services, decision.id)
            await _queue_update(conn, services, decision.id, by_moderator=by_moderator)
    if not posted:
        await flow_reply(update, _("Someone changed {ref} just now; please look again.")
                         .format(ref=decision.ref))
        return ConversationHandler.END
    services.outbox.kick()
    await flow_reply(update, _("Posted. {ref} is at {percent}%.").format(
        ref=decision.ref, percent=draft["percent"]))
    return ConversationHandler.END


async def _progress_in_group(update: Update, context: YishiContext) -> None:
    """/progress in the group: progress is written in private."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    await message.reply_text(
        _("Progress updates are written in a private chat with me, then posted here."),
        reply_markup=private_link(context, "progress", community, _("Post progress")))
