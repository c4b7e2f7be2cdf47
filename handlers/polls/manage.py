"""A moderator's controls under a poll: close now, extend, cancel with a reason, and paper
or phone ballots entered for a household (proxy votes)."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ConversationHandler,
)

from bot.context import YishiContext
from bot.domain.models import Community, Role
from bot.domain.polls import (
    Poll,
    PollStatus,
    deadline_refusal,
)
from bot.domain.units import UnitAddress
from bot.i18n import N_, Translator, translator
from handlers import outgoing
from handlers.common import (
    ensure_community,
    person_translator,
    record_audit,
    refuse,
    user_role,
)
from handlers.polls import callbacks
from handlers.polls.ballots import RECEIPT_LENGTH, unit_key
from handlers.polls.lifecycle import (
    CLOSE,
    OPEN,
    _arm,
    _community,
    _final_post,
    close_poll,
    refresh_post,
    schedule_refresh,
)
from handlers.polls.method_texts import ballot_words
from handlers.polls.texts import _describe_scope, _local
from handlers.topics.lifecycle import refresh_post as refresh_topic_post
from handlers.topics.lifecycle import vote_dropped
from storage import audit, communities, due_work, outbox, people, units
from storage import polls as store

CANCEL_REASON = 30


PROXY_UNIT, PROXY_OPTION, PROXY_SIGNER = 31, 32, 33


async def _managed(update: Update, context: YishiContext, *,
                   announced_too: bool = False) -> tuple[Poll, Community] | None:
    """The poll a management button is about, if the presser moderates it and it is open
    (or, ``announced_too``, still in its notice period)."""
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
    if poll.status is not PollStatus.OPEN and not (
            announced_too and poll.status is PollStatus.NOTICE):
        _ = await person_translator(update, context)
        if poll.status is PollStatus.NOTICE:
            await query.answer(_("Voting on {ref} has not opened yet; it can only be "
                                 "cancelled now.").format(ref=poll.ref), show_alert=True)
            return None
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
    found = await _managed(update, context, announced_too=True)
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
            await due_work.cancel(conn, kind=OPEN, key=str(poll.id))
            ended = await store.get(conn, poll.id)
            assert ended is not None
            await outbox.queue(conn, [*await _final_post(conn, ended, community),
                                      outgoing.message(
                f"poll:{poll.id}:cancelled", community.chat_id, group(N_(
                    "{ref} was cancelled by the moderators. Reason: {reason}")).format(
                    ref=poll.ref, reason=html.escape(reason)))], now)
            if poll.topic_id is not None:
                await outbox.queue(conn, await vote_dropped(
                    conn, poll.topic_id, poll_ref=poll.ref, community=community, now=now), now)
    if not cancelled:
        await message.reply_text(_("{ref} is closed; votes are no longer taken.").format(
            ref=poll.ref))
        return ConversationHandler.END
    services.outbox.kick()
    if poll.topic_id is not None:
        await refresh_topic_post(context.application, poll.topic_id)
    await record_audit(context, community, update, "poll.cancel", poll=poll.id, reason=reason)
    await message.reply_text(_("Done."))
    return ConversationHandler.END


async def ask_proxy_unit(update: Update, context: YishiContext) -> int:
    """A paper or phone ballot: a moderator enters a household's vote — any unit on the
    building's register, its owners on Telegram or not."""
    found = await _managed(update, context)
    if found is None:
        return ConversationHandler.END
    poll, _community_ = found
    _ = await person_translator(update, context)
    if not poll.counts_units or poll.multiple or poll.secret:
        await update.callback_query.answer(_("Paper ballots are for public, single-choice "
                                             "polls counted by household."), show_alert=True)
        return ConversationHandler.END
    context.user_data["poll_proxy"] = {"poll": poll.id}
    await update.callback_query.answer()
    await update.effective_chat.send_message(
        _("Which household's paper or phone ballot for {ref}? Type its unit, e.g. 3-2-501. "
          "/cancel to stop.").format(ref=poll.ref))
    return PROXY_UNIT


def _standing(row: dict[str, Any], poll: Poll, community: Community, names: dict[int, Any],
              _: Translator) -> str:
    """What stands for a unit, as a moderator is told when entering it twice."""
    choice = ballot_words(poll, row["choice"], _)
    when = _local(row["at"], community)
    if row["proxy_by"] is not None:
        return _("“{choice}”, a paper ballot signed by {signer}, entered {when}").format(
            choice=html.escape(choice), signer=html.escape(row["signed_by"] or "—"),
            when=when)
    voter = names.get(row["user_id"])
    return _("“{choice}”, voted online by {name} {when}").format(
        choice=html.escape(choice), name=html.escape(voter.name if voter else "—"), when=when)


async def proxy_unit_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _ = await person_translator(update, context)
    draft = context.user_data.get("poll_proxy") or {}
    address = UnitAddress.parse(message.text)
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, draft.get("poll", 0))
        community = await communities.by_id(conn, poll.community_id) if poll else None
        unit = await units.find(conn, poll.community_id, address) if poll and address else None
        standing = await store.ballot_of_unit(conn, poll.id, unit.id) if unit and poll else None
        names = await people.names(conn, [standing["user_id"]]) \
            if standing and standing["user_id"] else {}
    if poll is None or community is None or poll.status is not PollStatus.OPEN:
        await message.reply_text(_("This button is out of date."))
        return ConversationHandler.END
    typed = html.escape(message.text.strip()[:20])
    if unit is None:
        await message.reply_text(_("{unit} is not on the building's register. Type another "
                                   "unit, or /cancel; add it with /residents add or an "
                                   "import first.").format(unit=typed))
        return PROXY_UNIT
    if not poll.covers_address(unit.address):
        await message.reply_text(_("{unit} does not vote in {ref}: the poll is for {scope}. "
                                   "Type another unit, or /cancel.").format(
            unit=unit.address.code, ref=poll.ref, scope=_describe_scope(poll, _)))
        return PROXY_UNIT
    if standing is not None:
        await message.reply_text(_(
            "{unit} has already voted in {ref}: {standing}. A household has one ballot; "
            "if that one is wrong, void it first with /void {ref} {unit} and the reason.")
            .format(unit=unit.address.code, ref=poll.ref,
                    standing=_standing(standing, poll, community, names, _)))
        return ConversationHandler.END
    draft["unit"], draft["code"] = unit.id, unit.address.code
    await message.reply_text(_("Who signed the ballot for {unit}? Type the name as it is "
                               "written on it (or who answered the phone).").format(
        unit=unit.address.code))
    return PROXY_SIGNER


async def proxy_signer_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _ = await person_translator(update, context)
    draft = context.user_data.get("poll_proxy") or {}
    signer = " ".join(message.text.split())[:100]
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, draft.get("poll", 0))
    if poll is None or poll.status is not PollStatus.OPEN or "unit" not in draft:
        await message.reply_text(_("This button is out of date."))
        return ConversationHandler.END
    if not signer:
        await message.reply_text(_("Type the name of who signed, or /cancel."))
        return PROXY_SIGNER
    draft["signer"] = signer
    buttons = [[InlineKeyboardButton(option, callback_data=callbacks.PROXY_OPTION.data(index))]
               for index, option in enumerate(poll.options)]
    await message.reply_text(_("What did {unit} choose?").format(unit=draft["code"]),
                             reply_markup=InlineKeyboardMarkup(buttons))
    return PROXY_OPTION


async def proxy_option(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    draft = context.user_data.get("poll_proxy") or {}
    pressed = callbacks.PROXY_OPTION.parse(query.data)
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, draft.get("poll", 0))
    community = await _community(poll.community_id, context) if poll else None
    _ = await person_translator(update, context)
    # A secret poll takes no paper ballots (ask_proxy_unit says so): its ballots name no
    # household.
    if poll is None or community is None or poll.status is not PollStatus.OPEN \
            or poll.secret or "signer" not in draft or pressed is None \
            or pressed[0] >= len(poll.options):
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return ConversationHandler.END
    option = pressed[0]
    unit_id = draft["unit"]
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        standing = await store.ballot_of_unit(conn, poll.id, unit_id)
        receipts = []
        if standing is None:
            receipts = await store.cast_many(conn, poll.id, [store.Cast(
                voter_key=unit_key(unit_id), choice=[option], at=now, unit_id=unit_id,
                proxy_by=user.id, signed_by=draft["signer"])])
            await audit.record(conn, community_id=community.id, actor_id=user.id,
                               action="poll.paper_ballot", at=now,
                               details={"poll": poll.id, "unit": draft["code"],
                                        "signed_by": draft["signer"]})
    context.user_data.pop("poll_proxy", None)
    await query.answer()
    if standing is not None:  # entered meanwhile, online or by another moderator
        await query.edit_message_text(_("{unit} has already voted in {ref} meanwhile; "
                                        "nothing was recorded.").format(
            unit=draft["code"], ref=poll.ref))
        return ConversationHandler.END
    await query.edit_message_text(_(
        "Recorded for {ref}: {choice} for {unit}, a paper ballot signed by {signer}, entered "
        "by you. Receipt: {receipt}").format(
        ref=poll.ref, choice=html.escape(poll.options[option]), unit=draft["code"],
        signer=html.escape(draft["signer"]), receipt=receipts[-1][:RECEIPT_LENGTH]))
    schedule_refresh(context.application, poll.id)
    return ConversationHandler.END


async def void_ballot(update: Update, context: YishiContext) -> None:
    """/void P-3 3-2-501 reason: a moderator voids a household's ballot (online or paper),
    with the reason, which is audited, logged in the vote log and shown in the minutes."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    assert message is not None and chat is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    args = context.args or []
    number = args[0].upper().removeprefix("P-") if args else ""
    address = UnitAddress.parse(args[1]) if len(args) > 1 else None
    reason = " ".join(args[2:]).strip()[:300]
    if not number.isdigit() or address is None or not reason or user is None:
        await message.reply_text(_("Usage: /void P-3 3-2-501 the reason (a moderator voids "
                                   "a household's ballot; the reason is shown in the "
                                   "minutes)."))
        return
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        poll = await store.by_number(conn, community.id, int(number))
        unit = await units.find(conn, community.id, address)
        voided = None
        if poll is not None and unit is not None and poll.status is PollStatus.OPEN:
            standing = await store.ballot_of_unit(conn, poll.id, unit.id)
            if standing is not None:
                voided = await store.void(conn, poll.id, voter_key=standing["voter_key"],
                                          by=user.id, reason=reason, now=now)
                await audit.record(conn, community_id=community.id, actor_id=user.id,
                                   action="poll.void", at=now,
                                   details={"poll": poll.id, "unit": unit.address.code,
                                            "reason": reason})
    if poll is None:
        await message.reply_text(_("Name a poll of this group, e.g. P-3 (see /polls)."))
    elif poll.status is not PollStatus.OPEN:
        await message.reply_text(_("{ref} is closed; votes are no longer taken.").format(
            ref=poll.ref))
    elif voided is None:
        await message.reply_text(_("{unit} has no ballot in {ref}; nothing was voided.")
                                 .format(unit=address.code, ref=poll.ref))
    else:
        await message.reply_text(_("The ballot of {unit} in {ref} is void. Reason: {reason}. "
                                   "The household can vote again.").format(
            unit=address.code, ref=poll.ref, reason=html.escape(reason)))
        schedule_refresh(context.application, poll.id)


async def stale_poll_button(update: Update, context: YishiContext) -> None:
    await refuse(update, context, N_("This button is out of date. Send /poll to start again."))
