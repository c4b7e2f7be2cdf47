"""/decisions and /decision D-n: the list, one decision's view and a moderator's changes
(owner, due date, blocked, cancelled); following, milestones and ratings by button."""

from __future__ import annotations

import html
import logging
from datetime import timedelta

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest

from bot.context import YishiContext
from bot.domain.decisions import (
    OPEN_DECISIONS,
    Decision,
    DecisionStatus,
    UpdateKind,
    can_move,
    listing_order,
    parse_reference,
)
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.models import Community, Role
from bot.i18n import N_, Translator, translator
from handlers.common import (
    ANONYMOUS_CONTINUE,
    chat_translator,
    communities_of,
    ensure_community,
    is_anonymous_admin,
    is_group_member,
    is_not_modified,
    note_person,
    person_translator,
    private_link,
    record_audit,
    refuse,
    role_of,
    schedule_spaced,
    user_role,
)
from handlers.decisions import callbacks
from handlers.decisions.lifecycle import (
    TEXT_MAX,
    _arm_reminders,
    _get,
    _load,
    _may_manage,
    _queue_update,
    _tell_owner_assigned,
)
from handlers.decisions.objections import post_for_objection
from handlers.decisions.texts import (
    DUE_TIME,
    STATUS_NAMES,
    _line,
    _local,
    _rating_buttons,
    _rating_text,
    _view,
    _view_buttons,
    due_problem,
)
from handlers.roles import named_person  # the same @name / reply rules as /role
from storage import decisions as store

log = logging.getLogger(__name__)


async def list_decisions(update: Update, context: YishiContext) -> None:
    """/decisions: the group's decisions with status, % and due date, overdue first; in
    private, those of every group of this person. /decisions new: a moderator's new one."""
    message, chat, user = update.effective_message, update.effective_chat, \
        update.effective_user
    assert message is not None and chat is not None
    if (context.args or [""])[0].lower() == "new":
        await _new_from_anywhere(update, context)
        return
    _ = await chat_translator(update, context)
    if chat.type == "private":
        assert user is not None
        mine = await communities_of(context, user.id)
    else:
        mine = [await ensure_community(context, chat)]
    now = context.services.clock.now()
    blocks = []
    for community in mine:
        async with context.services.db.transaction() as conn:
            listed = listing_order(await store.of_community(conn, community.id), now)
        lines = [_("<b>Decisions of {group}</b>").format(group=html.escape(community.title))]
        lines += [await _line(context, d, community, _) for d in listed[:30]]
        if not listed:
            lines.append(_("None yet. A poll that passes becomes a decision here."))
        blocks.append("\n".join(lines))
    if not blocks:
        await message.reply_text(_("I do not know your building's group yet."))
        return
    await message.reply_text("\n\n".join(blocks)[:4096])


async def _find(context: YishiContext, update: Update,
                text: str) -> tuple[Decision, Community] | None:
    """A decision named as D-3: in the group it is this group's; in private, of the
    person's groups."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    number = parse_reference(text)
    if number is None:
        return None
    if chat.type == "private":
        mine = await communities_of(context, user.id)
    else:
        mine = [await ensure_community(context, chat)]
    for community in mine:
        async with context.services.db.transaction() as conn:
            found = await store.by_number(conn, community.id, number)
        if found is not None:
            return found, community
    return None


async def decision_command(update: Update, context: YishiContext) -> None:
    """/decision D-3 shows it; moderators (and the owner, for blocked/cancel) also:
    /decision D-3 owner @name · due 2026-12-31 · blocked REASON · cancel REASON."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = await chat_translator(update, context)
    args = context.args or []
    found = await _find(context, update, args[0]) if args else None
    if found is None and args and parse_reference(args[0]) is not None:
        await message.reply_text(_("There is no {ref} here. /decisions lists the decisions.")
                                 .format(ref=f"D-{parse_reference(args[0])}"))
        return
    if found is None:
        await message.reply_text(_("Which decision? For example /decision D-1. /decisions "
                                   "lists them."))
        return
    decision, community = found
    if len(args) == 1:
        await message.reply_text(await _view(context, decision, community, _),
                                 reply_markup=await _markup(context, decision, community,
                                                            user.id, _))
        return
    await _manage(update, context, decision, community, args[1].lower(), args[2:], _)


async def _manage(update: Update, context: YishiContext, decision: Decision,
                  community: Community, verb: str, rest: list[str], _: Translator) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = context.services
    now = services.clock.now()
    if verb not in ("owner", "due", "blocked", "cancel", "notice"):
        await message.reply_text(_("I know /decision D-1 owner @name, /decision D-1 due "
                                   "next friday (or any date), /decision D-1 blocked REASON, "
                                   "/decision D-1 cancel REASON and /decision D-1 notice "
                                   "[DAYS] (posted for objection first)."))
        return
    anonymous = is_anonymous_admin(update, community)
    if not anonymous and not await _may_manage(context, decision, community, user.id,
                                               owner_too=verb in ("blocked", "cancel")):
        await message.reply_text(_("Sorry, only the group's moderators (or the decision's "
                                   "owner) can do that. Nothing was changed."))
        return
    if verb == "notice":
        await message.reply_text(await post_for_objection(context, decision, community, rest,
                                                          _))
        await record_audit(context, community, update, "decision.notice",
                           decision=decision.id)
        return
    if verb == "owner":
        person = await named_person(update, context, rest, community_id=community.id)
        if person is None:
            await message.reply_text(_("I do not know that person yet. Name them by "
                                       "@username, by their name on the roster, or reply to "
                                       "one of their messages."))
            return
        async with services.db.transaction() as conn:
            await store.change(conn, decision.id, now=now, owner_id=person.user_id)
            await _arm_reminders(conn, services, decision.id)
        await record_audit(context, community, update, "decision.owner",
                           decision=decision.id, owner=person.user_id)
        await message.reply_text(_("{ref} is now owned by {name}.").format(
            ref=decision.ref, name=html.escape(person.name)))
        await _tell_owner_assigned(context, decision, community, person)
        return
    if verb == "due":
        try:
            due = parse_deadline(" ".join(rest), now, community.timezone,
                                 minimum=timedelta(0), maximum=timedelta(days=3650),
                                 default_time=DUE_TIME)
        except DeadlineError as exc:
            await message.reply_text(due_problem(_, exc.code, now, community.timezone))
            return
        async with services.db.transaction() as conn:
            await store.change(conn, decision.id, now=now, due_at=due)
            await _arm_reminders(conn, services, decision.id)
        await record_audit(context, community, update, "decision.due", decision=decision.id,
                           due=due.isoformat())
        await message.reply_text(_("{ref} is due {when}.").format(
            ref=decision.ref, when=_local(due, community)))
        return
    target = DecisionStatus.BLOCKED if verb == "blocked" else DecisionStatus.CANCELLED
    reason = " ".join(rest).strip()[:TEXT_MAX]
    if not reason:
        await message.reply_text(_("Please give the reason after the command, for everyone "
                                   "to read."))
        return
    if not can_move(decision.status, target):
        await message.reply_text(_("{ref} is {status}; that cannot change now.").format(
            ref=decision.ref, status=_(STATUS_NAMES[decision.status])))
        return
    by_moderator = anonymous or await user_role(context, community, user.id) is Role.MODERATOR
    async with services.db.transaction() as conn:
        moved = await store.record(conn, decision, status=target, percent=decision.progress,
                                   actor_id=None if anonymous else user.id, now=now,
                                   reason=reason)
        if moved:
            await _queue_update(conn, services, decision.id, by_moderator=by_moderator)
    if not moved:
        await message.reply_text(_("Someone changed {ref} just now; please look again.")
                                 .format(ref=decision.ref))
        return
    services.outbox.kick()
    await record_audit(context, community, update, f"decision.{target.value}",
                       decision=decision.id)
    await message.reply_text(_("{ref} is now {status}.").format(
        ref=decision.ref, status=_(STATUS_NAMES[target])))


async def follow_button(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    decision, community = await _load(context, query.data)
    if decision is None or community is None:
        await refuse(update, context, N_("This button is out of date."))
        return
    _ = await person_translator(update, context)
    now = context.services.clock.now()
    async with context.services.db.transaction() as conn:
        await note_person(conn, user, now)
        added = await store.follow(conn, decision.id, user.id, now)
    await query.answer(_("You follow {ref}: I will tell you of every update (start a private "
                         "chat with me if you have not).").format(ref=decision.ref)
                       if added else _("You already follow {ref}.").format(ref=decision.ref))


async def _markup(context: YishiContext, decision: Decision, community: Community,
                  user_id: int, _: Translator) -> InlineKeyboardMarkup:
    """A decision's view buttons (Follow ...) and, for its owner and moderators, one per
    milestone still to do."""
    markup = _view_buttons(decision, _)
    steps = await _milestone_buttons(context, decision, community, user_id, _)
    if steps is None:
        return markup
    return InlineKeyboardMarkup([*markup.inline_keyboard, *steps.inline_keyboard])


async def _milestone_buttons(context: YishiContext, decision: Decision, community: Community,
                             user_id: int, _: Translator) -> InlineKeyboardMarkup | None:
    """For the owner and moderators: a button per milestone not yet done."""
    if decision.status not in OPEN_DECISIONS or not await _may_manage(
            context, decision, community, user_id, owner_too=True):
        return None
    async with context.services.db.transaction() as conn:
        steps = [m for m in await store.milestones(conn, decision.id) if not m.done]
    if not steps:
        return None
    # Worded as what pressing does: "✅ X" alone reads as if X were done already.
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("Mark done: {title}").format(title=m.title[:40]),
        callback_data=callbacks.MILESTONE.data(decision.id, m.id))] for m in steps[:8]])


async def milestone_done(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    decision, community = await _load(context, query.data)
    milestone = (query.data or "").rsplit(":", 1)[-1]
    if decision is None or community is None or not milestone.isdigit():
        await refuse(update, context, N_("This button is out of date."))
        return
    if not await _may_manage(context, decision, community, user.id, owner_too=True):
        await refuse(update, context, N_("Sorry, only the group's moderators (or the "
                                         "decision's owner) can do that. Nothing was "
                                         "changed."))
        return
    now = context.services.clock.now()
    async with context.services.db.transaction() as conn:
        ticked = await store.tick_milestone(conn, decision.id, int(milestone), now)
        title = next((m.title for m in await store.milestones(conn, decision.id)
                      if m.id == int(milestone)), "")
        if ticked:
            await store.record(conn, decision, status=decision.status,
                               percent=decision.progress, actor_id=user.id, now=now,
                               text="✅ " + title, kind=UpdateKind.MILESTONE)
    _ = await person_translator(update, context)
    if not ticked:
        await refuse(update, context, N_("This button is out of date."))
        return
    await query.answer(_("Milestone done: {title}").format(title=title))
    # The card shows it: the milestone ticked, the timeline's new line, the buttons that
    # are left (Follow included).
    async with context.services.db.transaction() as conn:
        decision = await store.get(conn, decision.id) or decision
    reader = await chat_translator(update, context)
    try:
        await query.edit_message_text(
            await _view(context, decision, community, reader),
            reply_markup=await _markup(context, decision, community, user.id, reader))
    except BadRequest as exc:
        if not is_not_modified(exc):
            raise


async def _new_from_anywhere(update: Update, context: YishiContext) -> None:
    """/decisions new in the group: continue in private."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    if chat.type == "private":
        return  # the flow's own entry point handles it
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    if await role_of(context, community, update) is not Role.MODERATOR:
        await message.reply_text(_("Sorry, only the group's moderators can do that. Nothing "
                                   "was changed."))
        return
    text = _("Decisions are written down in a private chat with me.")
    if is_anonymous_admin(update, community):
        text = _("{first} {then}").format(first=text, then=_(ANONYMOUS_CONTINUE))
    await message.reply_text(
        text, reply_markup=private_link(context, "decision", community, _("Write a decision")))


async def rate_button(update: Update, context: YishiContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    decision, community = await _load(context, query.data)
    stars = (query.data or "").rsplit(":", 1)[-1]
    if decision is None or community is None or stars not in {"1", "2", "3", "4", "5"} \
            or decision.status is not DecisionStatus.DONE:
        await refuse(update, context, N_("This button is out of date."))
        return
    if not await is_group_member(context, community, user.id):
        await refuse(update, context, N_("Only members of the group can rate this."))
        return
    now = context.services.clock.now()
    async with context.services.db.transaction() as conn:
        await note_person(conn, user, now)
        await store.rate(conn, decision.id, user.id, int(stars), now)
    _ = await person_translator(update, context)
    await query.answer(_("Thank you: {stars} of 5. Press another to change it.").format(
        stars=stars))
    schedule_spaced(context.application, f"decision-rating-{decision.id}",
                    context.services.settings.decisions.rating_refresh_seconds,
                    _refresh_rating, decision.id)


async def _refresh_rating(context: YishiContext) -> None:
    """Edit the rating post's average (at most every few seconds, see schedule_spaced)."""
    assert context.job is not None
    decision_id = int(context.job.data)  # type: ignore[arg-type]
    decision, community = await _get(context, decision_id)
    if decision is None or community is None:
        return
    async with context.services.db.transaction() as conn:
        post = await store.rating_post(conn, decision.id)
        stars = await store.ratings(conn, decision.id)
    if post is None:
        return
    _ = translator(community.language)
    try:
        await context.bot.edit_message_text(_rating_text(decision, stars, _), chat_id=post[0],
                                            message_id=post[1],
                                            reply_markup=_rating_buttons(decision))
    except BadRequest as exc:
        log.info("rating post not edited", extra={"decision": decision.id, "why": str(exc)})


async def stale_button(update: Update, context: YishiContext) -> None:
    await refuse(update, context, N_("This button is out of date."))
