"""A moderator's controls under a poll: close now, extend, cancel with a reason, and paper
or phone ballots entered for a household (proxy votes)."""

from __future__ import annotations

import html
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ConversationHandler,
)

from bot.context import YishiContext
from bot.domain.models import Community, Role
from bot.domain.polls import (
    Audience,
    Poll,
    PollStatus,
    deadline_refusal,
)
from bot.domain.units import UnitAddress
from bot.i18n import N_, translator
from handlers import outgoing
from handlers.common import (
    person_translator,
    record_audit,
    refuse,
    user_role,
)
from handlers.polls import callbacks
from handlers.polls.lifecycle import (
    CLOSE,
    _arm,
    _community,
    _final_post,
    close_poll,
    refresh_post,
    schedule_refresh,
)
from handlers.polls.texts import _local
from storage import due_work, outbox, residents
from storage import polls as store

CANCEL_REASON = 30


PROXY_UNIT, PROXY_OPTION = 31, 32


async def _managed(update: Update, context: YishiContext) -> tuple[Poll, Community] | None:
    """The poll a management button is about, if the presser moderates it and it is open."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    parts = (query.data or "").split(":")
    poll = None
    if len(parts) == 3 and parts[1].isdigit():
        async with context.services.db.transaction() as conn:
            poll = await store.get(conn, int(parts[1]))
    community = await _community(poll.community_id, context) if poll else None
    if poll is None or community is None:
        await refuse(update, context, N_("This button is out of date."))
        return None
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return None
    if poll.status is not PollStatus.OPEN:
        _ = await person_translator(update, context)
        await query.answer(_("{ref} is closed; votes are no longer taken.").format(
            ref=poll.ref), show_alert=True)
        return None
    return poll, community


async def close_now(update: Update, context: YishiContext) -> None:
    found = await _managed(update, context)
    if found is None:
        return
    poll, community = found
    _ = await person_translator(update, context)
    await update.callback_query.answer(_("Closing {ref}.").format(ref=poll.ref))
    if await close_poll(context.application, poll.id):
        await record_audit(context, community, update, "poll.close_early", poll=poll.id)
        async with context.services.db.transaction() as conn:
            await due_work.cancel(conn, kind=CLOSE, key=str(poll.id))


async def extend(update: Update, context: YishiContext) -> None:
    found = await _managed(update, context)
    if found is None:
        return
    poll, community = found
    _ = await person_translator(update, context)
    deadline = poll.deadline + timedelta(days=1)
    if deadline_refusal(deadline, now=context.services.clock.now(),
                        created_at=poll.created_at) == "too_far":
        await update.callback_query.answer(_("A poll can stay open at most 60 days."),
                                           show_alert=True)
        return
    services = context.services
    group = translator(community.language)
    async with services.db.transaction() as conn:
        await store.set_deadline(conn, poll.id, deadline)
        poll = await store.get(conn, poll.id)
        assert poll is not None
        await _arm(conn, services, poll)
        # What a moderator does by hand is said at once, quiet hours or not.
        await outbox.queue(conn, [outgoing.message(
            f"poll:{poll.id}:extended:{deadline.isoformat()}", community.chat_id, group(N_(
                "{ref} is extended: you can vote until {when}.")).format(
                ref=poll.ref, when=_local(deadline, community)))], services.clock.now())
    await record_audit(context, community, update, "poll.extend", poll=poll.id,
                       deadline=deadline.isoformat())
    await update.callback_query.answer(_("Extended."))
    await refresh_post(context.application, poll.id)
    services.outbox.kick()


async def ask_cancel_reason(update: Update, context: YishiContext) -> int:
    found = await _managed(update, context)
    if found is None:
        return ConversationHandler.END
    poll, _community_ = found
    context.user_data["poll_cancel"] = poll.id
    _ = await person_translator(update, context)
    await update.callback_query.answer()
    await update.effective_chat.send_message(
        _("Why is {ref} cancelled? Reply with the reason; the group will read it. /cancel to "
          "keep the poll.").format(ref=poll.ref))
    return CANCEL_REASON


async def cancel_reason_typed(update: Update, context: YishiContext) -> int:
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.text is not None and user is not None
    poll_id = context.user_data.pop("poll_cancel", None)
    _ = await person_translator(update, context)
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, poll_id) if poll_id else None
    community = await _community(poll.community_id, context) if poll else None
    if poll is None or community is None \
            or await user_role(context, community, user.id) is not Role.MODERATOR:
        await message.reply_text(_("This button is out of date."))
        return ConversationHandler.END
    reason = message.text.strip()[:500]
    services = context.services
    group = translator(community.language)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        cancelled = await store.finish(conn, poll.id, PollStatus.CANCELLED, now, reason=reason)
        if cancelled:
            await store.destroy_key(conn, poll.id)
            await due_work.cancel(conn, kind=CLOSE, key=str(poll.id))
            ended = await store.get(conn, poll.id)
            assert ended is not None
            await outbox.queue(conn, [*await _final_post(conn, ended, community),
                                      outgoing.message(
                f"poll:{poll.id}:cancelled", community.chat_id, group(N_(
                    "{ref} was cancelled by the moderators. Reason: {reason}")).format(
                    ref=poll.ref, reason=html.escape(reason)))], now)
    if not cancelled:
        await message.reply_text(_("{ref} is closed; votes are no longer taken.").format(
            ref=poll.ref))
        return ConversationHandler.END
    services.outbox.kick()
    await record_audit(context, community, update, "poll.cancel", poll=poll.id, reason=reason)
    await message.reply_text(_("Done."))
    return ConversationHandler.END


async def ask_proxy_unit(update: Update, context: YishiContext) -> int:
    """Proxy vote: a moderator records a household's paper or phone vote."""
    found = await _managed(update, context)
    if found is None:
        return ConversationHandler.END
    poll, _community_ = found
    _ = await person_translator(update, context)
    if not poll.counts_units or poll.multiple or poll.secret:
        await update.callback_query.answer(_("Proxy votes are for public, single-choice polls "
                                             "counted by household."), show_alert=True)
        return ConversationHandler.END
    context.user_data["poll_proxy"] = {"poll": poll.id}
    await update.callback_query.answer()
    await update.effective_chat.send_message(
        _("Which household voted on paper or by phone for {ref}? Type its unit, e.g. 3-2-501. "
          "/cancel to stop.").format(ref=poll.ref))
    return PROXY_UNIT


async def proxy_unit_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _ = await person_translator(update, context)
    draft = context.user_data.get("poll_proxy") or {}
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, draft.get("poll", 0))
        roster = await residents.households(conn, poll.community_id) if poll else []
    address = UnitAddress.parse(message.text)
    household = next((h for h in roster if address and h.address == address), None)
    if poll is None or poll.status is not PollStatus.OPEN:
        await message.reply_text(_("This button is out of date."))
        return ConversationHandler.END
    if household is None or not poll.scope.covers(household) or (
            poll.audience is Audience.OWNERS and not household.owners):
        await message.reply_text(_("{unit} is not a household that votes in {ref}. Type "
                                   "another unit, or /cancel.").format(
            unit=html.escape(message.text.strip()[:20]), ref=poll.ref))
        return PROXY_UNIT
    draft["unit"] = household.unit_id
    buttons = [[InlineKeyboardButton(option, callback_data=callbacks.PROXY_OPTION.data(index))]
               for index, option in enumerate(poll.options)]
    await message.reply_text(_("What did {unit} choose?").format(unit=household.address.code),
                             reply_markup=InlineKeyboardMarkup(buttons))
    return PROXY_OPTION


async def proxy_option(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    draft = context.user_data.get("poll_proxy") or {}
    raw = (query.data or "").split(":")[-1]
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, draft.get("poll", 0))
    community = await _community(poll.community_id, context) if poll else None
    _ = await person_translator(update, context)
    # A secret poll takes no paper ballots (ask_proxy_unit says so): its ballots name no
    # household, so one entered for a unit could not replace the unit's own.
    if poll is None or community is None or poll.status is not PollStatus.OPEN \
            or poll.secret or "unit" not in draft:
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return ConversationHandler.END
    if raw == "confirm":
        option = draft.get("option")
    elif raw.isdigit() and int(raw) < len(poll.options):
        option = int(raw)
    else:
        await refuse(update, context, N_("This button is out of date."))
        return PROXY_OPTION
    unit_id = draft["unit"]
    now = context.services.clock.now()
    async with context.services.db.transaction() as conn:
        own = (await store.household_voters(conn, poll.id)).get(unit_id)
        if own is not None and raw != "confirm":
            replace = None
        else:
            replace = own
            if own is not None:  # confirmed: the paper vote replaces the household's own
                await store.withdraw(conn, poll_id=poll.id, voter_key=f"u:{own}", now=now)
            await store.cast(conn, poll_id=poll.id, voter_key=f"p:{unit_id}", user_id=None,
                             unit_id=unit_id, choice=[option], proxy_by=user.id, now=now)
    if own is not None and raw != "confirm":
        draft["option"] = option
        await query.answer()
        await query.edit_message_text(
            _("This household already voted itself. Replace its vote with “{option}”?").format(
                option=html.escape(poll.options[option])),
            reply_markup=InlineKeyboardMarkup([[
                InlineKeyboardButton(_("Yes, replace it"),
                                     callback_data=callbacks.PROXY_CONFIRM.data())]]))
        return PROXY_OPTION
    context.user_data.pop("poll_proxy", None)
    await record_audit(context, community, update, "poll.proxy", poll=poll.id, unit=unit_id,
                       replaced=replace is not None)
    await query.answer(_("Recorded."))
    await query.edit_message_text(_("Recorded for {ref}: {choice} (entered by you, marked as a "
                                    "proxy vote).").format(
        ref=poll.ref, choice=html.escape(poll.options[option])))
    schedule_refresh(context.application, poll.id)
    return ConversationHandler.END


async def stale_poll_button(update: Update, context: YishiContext) -> None:
    await refuse(update, context, N_("This button is out of date. Send /poll to start again."))
