"""Decisions (决议落实): what was decided gets an owner, a due date and progress updates the
whole building sees; the scheduler chases silence and lateness, and weeks after "done"
the group rates the result (回头看).

Callback data: ``dn:*`` the new-decision flow, ``dp:*`` the progress flow, ``df:<id>``
follow, ``dr:<id>:<stars>`` the rating, ``dm:<id>:<milestone>`` a milestone done. All
checked against the database.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as F

from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink
from bot.domain.decisions import (
    NEEDS_REASON,
    OPEN_DECISIONS,
    Decision,
    DecisionStatus,
    after_progress,
    average,
    can_move,
    listing_order,
    parse_reference,
    progress_bar,
)
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.models import Community, DueWork, Outgoing, Person, Role
from bot.i18n import N_, Translator, translator
from bot.scheduler import Defer, Done, Outcome
from bot.services import Services
from handlers import outgoing
from handlers.common import (
    begin_for_chosen,
    begin_for_moderator,
    begin_from_link,
    chat_translator,
    communities_of,
    ensure_community,
    flow_reply,
    is_group_member,
    note_person,
    person_translator,
    private_link,
    record_audit,
    refuse,
    schedule_spaced,
    user_role,
)
from handlers.flows import private_flow
from handlers.moderators import moderator_ids
from handlers.roles import named_person  # the same @name / reply rules as /role
from storage import communities, due_work, memberships, outbox, people, polls, topics
from storage import decisions as store

log = logging.getLogger(__name__)

TITLE, OWNER, DUE, MILESTONES = range(60, 64)
PICK, PERCENT, CHANGED, NEXT_STEP = range(64, 68)
DRAFT, PROGRESS = "decision", "progress"
STALE, DUE_SOON, OVERDUE, RATING = ("decision_stale", "decision_due_soon",
                                    "decision_overdue", "decision_rating")
UPDATE_POST = "decision_update"
TITLE_MAX, TEXT_MAX = 200, 800

STATUS_NAMES = {
    DecisionStatus.PLANNED: N_("planned"), DecisionStatus.IN_PROGRESS: N_("in progress"),
    DecisionStatus.DONE: N_("done"), DecisionStatus.BLOCKED: N_("blocked"),
    DecisionStatus.CANCELLED: N_("cancelled"),
}


def _local(moment: datetime, community: Community) -> str:
    return f"{moment.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d %H:%M}"


def _stars(value: Fraction | None, count: int, _: Translator) -> str:
    if value is None:
        return ""
    return _("Looking back: ★ {average} from {count} neighbours").format(
        average=f"{float(value):.1f}", count=count)


# --- reading them --------------------------------------------------------------------------------


async def _owner_name(context: YishiContext | YishiApp, decision: Decision) -> str | None:
    services = context.services if isinstance(context, YishiContext) else context.bot_data.services
    if decision.owner_id is None:
        return None
    async with services.db.transaction() as conn:
        person = await people.get(conn, decision.owner_id)
    return person.name if person else None


async def _line(context: YishiContext, decision: Decision, community: Community,
                _: Translator) -> str:
    now = context.services.clock.now()
    parts = [f"{decision.ref} · {html.escape(decision.title)}",
             _(STATUS_NAMES[decision.status]), f"{decision.progress}%"]
    if decision.due_at is not None:
        parts.append(_("due {date}").format(
            date=f"{decision.due_at.astimezone(ZoneInfo(community.timezone)):%Y-%m-%d}"))
    line = " · ".join(parts)
    return ("⚠️ " + line + " · " + _("overdue")) if decision.overdue(now) else line


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


async def _view(context: YishiContext, decision: Decision, community: Community,
                _: Translator) -> str:
    async with context.services.db.transaction() as conn:
        events = await store.timeline(conn, decision.id)
        steps = await store.milestones(conn, decision.id)
        stars = await store.ratings(conn, decision.id)
        named = await people.names(conn, [e.actor_id for e in events if e.actor_id])
    owner = await _owner_name(context, decision)
    lines = [f"<b>{decision.ref} · {html.escape(decision.title)}</b>",
             progress_bar(decision.progress),
             _("Status: {status}").format(status=_(STATUS_NAMES[decision.status])),
             _("Owner: {name}").format(name=html.escape(owner) if owner else _("nobody yet")),
             _("Due: {date}").format(date=_local(decision.due_at, community)
                                     if decision.due_at else _("not set"))]
    if decision.reason and decision.status in NEEDS_REASON:
        lines.append(_("Reason: {reason}").format(reason=html.escape(decision.reason)))
    if stars:
        lines.append(_stars(average(stars), len(stars), _))
    if steps:
        lines += ["", _("<b>Milestones</b>")]
        lines += [("✅ " if m.done else "▫️ ") + html.escape(m.title) for m in steps]
    lines += ["", _("<b>Timeline</b>")]
    for event in events[-15:]:
        who = named[event.actor_id].name if event.actor_id in named else ""
        line = f"{_local(event.at, community)} · {_(STATUS_NAMES[event.status])} · " \
               f"{event.percent}%"
        if who:
            line += f" · {html.escape(who)}"
        if event.text:
            line += f" — {html.escape(event.text)}"
        lines.append(line)
    return "\n".join(lines)[:4096]


def _view_buttons(decision: Decision, _: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("Follow this decision"), callback_data=f"df:{decision.id}")]])


async def decision_command(update: Update, context: YishiContext) -> None:
    """/decision D-3 shows it; moderators (and the owner, for blocked/cancel) also:
    /decision D-3 owner @name · due 2026-12-31 · blocked REASON · cancel REASON."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = await chat_translator(update, context)
    args = context.args or []
    found = await _find(context, update, args[0]) if args else None
    if found is None:
        await message.reply_text(_("Which decision? For example /decision D-1. /decisions "
                                   "lists them."))
        return
    decision, community = found
    if len(args) == 1:
        steps_markup = await _milestone_buttons(context, decision, community, user.id)
        markup = _view_buttons(decision, _)
        if steps_markup is not None:
            markup = InlineKeyboardMarkup([*markup.inline_keyboard,
                                           *steps_markup.inline_keyboard])
        await message.reply_text(await _view(context, decision, community, _),
                                 reply_markup=markup)
        return
    await _manage(update, context, decision, community, args[1].lower(), args[2:], _)


async def _may_manage(context: YishiContext, decision: Decision, community: Community,
                      user_id: int, *, owner_too: bool) -> bool:
    if owner_too and decision.owner_id == user_id:
        return True
    return await user_role(context, community, user_id) is Role.MODERATOR


async def _manage(update: Update, context: YishiContext, decision: Decision,
                  community: Community, verb: str, rest: list[str], _: Translator) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = context.services
    now = services.clock.now()
    if verb not in ("owner", "due", "blocked", "cancel"):
        await message.reply_text(_("I know /decision D-1 owner @name, /decision D-1 due "
                                   "2026-12-31, /decision D-1 blocked REASON and /decision D-1 "
                                   "cancel REASON."))
        return
    if not await _may_manage(context, decision, community, user.id,
                             owner_too=verb in ("blocked", "cancel")):
        await message.reply_text(_("Sorry, only the group's moderators (or the decision's "
                                   "owner) can do that. Nothing was changed."))
        return
    if verb == "owner":
        person = await named_person(update, context, rest)
        if person is None:
            await message.reply_text(_("I do not know that person yet. They need to have "
                                       "written in the group or started a chat with me."))
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
            due = parse_deadline(" ".join(rest) if " " in " ".join(rest)
                                 else " ".join(rest) + " 18:00", now, community.timezone,
                                 minimum=timedelta(0), maximum=timedelta(days=3650))
        except DeadlineError:
            await message.reply_text(_("Write the due date like 2026-12-31 or "
                                       "2026-12-31 18:00, in the future."))
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
    by_moderator = await user_role(context, community, user.id) is Role.MODERATOR
    async with services.db.transaction() as conn:
        moved = await store.record(conn, decision, status=target, percent=decision.progress,
                                   actor_id=user.id, now=now, reason=reason)
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


async def _tell_owner_assigned(context: YishiContext, decision: Decision,
                               community: Community, person: Person) -> None:
    if not person.started:
        return
    _ = translator(person.reads(context.services.default_language))
    try:
        await context.bot.send_message(person.user_id, _(
            "You are now the owner of {ref} “{title}” in {group}. Post progress with /progress "
            "{ref}; I will remind you if it goes quiet.").format(
            ref=decision.ref, title=html.escape(decision.title),
            group=html.escape(community.title)))
    except Forbidden:
        pass


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


async def _load(context: YishiContext | YishiApp,
                data: str | None) -> tuple[Decision | None, Community | None]:
    """The decision a button's data (``xx:<id>:…``) names, with its community."""
    parts = (data or "").split(":")
    if len(parts) < 2 or not parts[1].isdigit():
        return None, None
    return await _get(context, int(parts[1]))


async def _get(context: YishiContext | YishiApp,
               decision_id: int) -> tuple[Decision | None, Community | None]:
    services = context.services if isinstance(context, YishiContext) else context.bot_data.services
    async with services.db.transaction() as conn:
        decision = await store.get(conn, decision_id)
        community = await communities.by_id(conn, decision.community_id) if decision else None
    return decision, community


async def _milestone_buttons(context: YishiContext, decision: Decision, community: Community,
                             user_id: int) -> InlineKeyboardMarkup | None:
    """For the owner and moderators: a button per milestone not yet done."""
    if decision.status not in OPEN_DECISIONS or not await _may_manage(
            context, decision, community, user_id, owner_too=True):
        return None
    async with context.services.db.transaction() as conn:
        steps = [m for m in await store.milestones(conn, decision.id) if not m.done]
    if not steps:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        "✅ " + m.title[:40], callback_data=f"dm:{decision.id}:{m.id}")] for m in steps[:8]])


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
                               text="✅ " + title)
    _ = await person_translator(update, context)
    if not ticked:
        await refuse(update, context, N_("This button is out of date."))
        return
    await query.answer(_("Milestone done: {title}").format(title=title))
    markup = await _milestone_buttons(context, decision, community, user.id)
    try:
        await query.edit_message_reply_markup(markup)
    except BadRequest:
        pass


# --- a new decision ----------------------------------------------------------------------------


async def _new_from_anywhere(update: Update, context: YishiContext) -> None:
    """/decisions new in the group: continue in private."""
    chat, message, user = update.effective_chat, update.effective_message, \
        update.effective_user
    assert chat is not None and message is not None
    if chat.type == "private":
        return  # the flow's own entry point handles it
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    if user is None or await user_role(context, community, user.id) is not Role.MODERATOR:
        await message.reply_text(_("Sorry, only the group's moderators can do that. Nothing "
                                   "was changed."))
        return
    await message.reply_text(
        _("Decisions are written down in a private chat with me."),
        reply_markup=private_link(context, "decision", community, _("Write a decision")))


NOT_MODERATOR = N_("Only moderators can write down decisions. You are not a moderator of "
                   "any group I am in.")


async def new_command(update: Update, context: YishiContext) -> int:
    """/decisions new in private: for which group (of those this person moderates);
    /decisions without "new" lists them."""
    if (context.args or [""])[0].lower() != "new":
        await list_decisions(update, context)
        return ConversationHandler.END
    context.user_data.pop(DRAFT, None)
    return await begin_for_moderator(update, context, begin=_begin, choose_state=TITLE,
                                     button_prefix="dn:g:", refusal=NOT_MODERATOR)


async def new_from_link(update: Update, context: YishiContext) -> int:
    return await begin_from_link(update, context, begin=_begin, refusal=NOT_MODERATOR)


async def group_button(update: Update, context: YishiContext) -> int:
    return await begin_for_chosen(update, context, begin=_begin, choose_state=TITLE)


async def _begin(update: Update, context: YishiContext, community: Community) -> int:
    context.user_data[DRAFT] = {"community": community.id}
    _ = await person_translator(update, context)
    await flow_reply(update, _("What was decided? One line, e.g. “Repaint the stairwell of "
                               "building 3”. /cancel to stop."))
    return TITLE


async def title_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None
    _ = await person_translator(update, context)
    text = (message.text or "").strip()
    draft = context.user_data.get(DRAFT)
    if draft is None or "community" not in draft:
        return ConversationHandler.END
    if not text or len(text) > TITLE_MAX:
        await message.reply_text(_("Please keep it to one line of at most {limit} characters.")
                                 .format(limit=TITLE_MAX))
        return TITLE
    draft["title"] = text
    await message.reply_text(
        _("Who owns it? Send their @username, or press a button."),
        reply_markup=InlineKeyboardMarkup([[
            InlineKeyboardButton(_("Me"), callback_data="dn:o:me"),
            InlineKeyboardButton(_("Decide later"), callback_data="dn:o:none")]]))
    return OWNER


async def owner_chosen(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    draft = context.user_data.get(DRAFT) or {}
    _ = await person_translator(update, context)
    if update.callback_query is not None:
        choice = (update.callback_query.data or "").rsplit(":", 1)[-1]
        draft["owner"] = user.id if choice == "me" else None
    else:
        words = ((update.effective_message.text or "") if update.effective_message
                 else "").split()
        person = await named_person(update, context, words)
        if person is None:
            assert update.effective_message is not None
            await update.effective_message.reply_text(
                _("I do not know that person yet. They need to have written in the group or "
                  "started a chat with me."))
            return OWNER
        draft["owner"] = person.user_id
    await flow_reply(update, _("By when? Write a date like 2026-12-31 (or with a time, "
                               "2026-12-31 18:00), or press a button."),
                     InlineKeyboardMarkup([[InlineKeyboardButton(
                         _("No due date"), callback_data="dn:d:none")]]))
    return DUE


async def due_chosen(update: Update, context: YishiContext) -> int:
    draft = context.user_data.get(DRAFT) or {}
    _ = await person_translator(update, context)
    if update.callback_query is None:
        assert update.effective_message is not None
        text = (update.effective_message.text or "").strip()
        async with context.services.db.transaction() as conn:
            community = await communities.by_id(conn, draft.get("community", 0))
        if community is None:
            return ConversationHandler.END
        try:
            due = parse_deadline(text if " " in text else text + " 18:00",
                                 context.services.clock.now(), community.timezone,
                                 minimum=timedelta(0), maximum=timedelta(days=3650))
        except DeadlineError:
            await update.effective_message.reply_text(
                _("Write the due date like 2026-12-31 or 2026-12-31 18:00, in the future."))
            return DUE
        draft["due"] = due.isoformat()
    else:
        draft["due"] = None
    await flow_reply(update, _("Any milestones? Send them one per line, or press Done."),
                     InlineKeyboardMarkup([[InlineKeyboardButton(
                         _("Done, no milestones"), callback_data="dn:m:none")]]))
    return MILESTONES


async def milestones_chosen(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    draft = context.user_data.pop(DRAFT, None) or {}
    _ = await person_translator(update, context)
    steps: list[str] = []
    if update.callback_query is None and update.effective_message is not None:
        steps = [line.strip()[:TITLE_MAX] for line in
                 (update.effective_message.text or "").splitlines() if line.strip()][:12]
    services = context.services
    async with services.db.transaction() as conn:
        community = await communities.by_id(conn, draft.get("community", 0))
    if community is None or "title" not in draft \
            or await user_role(context, community, user.id) is not Role.MODERATOR:
        await flow_reply(update, _("This button is out of date."))
        return ConversationHandler.END
    now = services.clock.now()
    async with services.db.transaction() as conn:
        decision = await store.create(
            conn, community_id=community.id, title=draft["title"], now=now,
            owner_id=draft.get("owner"),
            due_at=datetime.fromisoformat(draft["due"]) if draft.get("due") else None,
            milestones=steps, actor_id=user.id)
        owner = await people.get(conn, decision.owner_id) if decision.owner_id else None
        await _arm_reminders(conn, services, decision.id)
    await record_audit(context, community, update, "decision.create", decision=decision.id)
    await flow_reply(update, _("Written down as {ref}. The group sees it with /decisions; "
                               "the owner posts progress with /progress {ref}.").format(
        ref=decision.ref))
    if owner is not None and owner.user_id != user.id:
        await _tell_owner_assigned(context, decision, community, owner)
    return ConversationHandler.END


async def from_poll(conn: AsyncConnection, services: Services, decision: Decision,
                    community: Community, admins: list[int]) -> list[Outgoing]:
    """A closing poll made this decision (in the close's transaction): arm its reminders,
    and return the word to the moderators (``admins``: the group's Telegram admins) asking
    for an owner and a due date."""
    await _arm_reminders(conn, services, decision.id)
    granted = await memberships.with_role(conn, community.id, Role.MODERATOR)
    known = await people.names(conn, sorted(set(admins) | set(granted)))
    owed = []
    for person in known.values():
        if not person.started:
            continue
        _ = translator(person.reads(services.default_language))
        owed.append(outgoing.message(
            f"decision:{decision.id}:from-poll:{person.user_id}", person.user_id, _(
                "The vote made a decision in {group}: {ref} “{title}”. Give it an owner and a "
                "due date: /decision {ref} owner @name and /decision {ref} due 2026-12-31.")
            .format(group=html.escape(community.title), ref=decision.ref,
                    title=html.escape(decision.title))))
    return owed


# --- progress ----------------------------------------------------------------------------------


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
        [[InlineKeyboardButton(f"{d.ref} · {d.title}"[:60], callback_data=f"dp:d:{d.id}")]
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
    buttons = [InlineKeyboardButton(f"{p}%", callback_data=f"dp:p:{p}")
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
                                 _("Skip"), callback_data="dp:n:skip")]]))
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


# --- telling everyone --------------------------------------------------------------------------


async def _queue_update(conn: AsyncConnection, services: Services, decision_id: int, *,
                        by_moderator: bool, update_id: int | None = None) -> None:
    """Queue the latest update (or ``update_id``) for the group and the followers, in the
    transaction that recorded it; in the group's quiet hours it waits for the morning,
    unless a moderator posted it by hand."""
    decision = await store.get(conn, decision_id)
    community = await communities.by_id(conn, decision.community_id) if decision else None
    if decision is None or community is None or not community.active:
        return
    timeline = await store.timeline(conn, decision.id)
    event = timeline[-1] if update_id is None else \
        next((e for e in timeline if e.id == update_id), None)
    if event is None:
        return
    now = services.clock.now()
    not_before = None if by_moderator else community.quiet_until(now)
    watchers = set(await store.followers(conn, decision.id))
    if decision.topic_id is not None:
        watchers |= set(await topics.supporters(conn, decision.topic_id))
    if decision.poll_id is not None:
        watchers |= await polls.voters(conn, decision.poll_id)
    known = await people.names(conn, sorted(watchers - {event.actor_id or 0}))
    _ = translator(community.language)
    text = _card(decision, community, event, _)
    follow = _view_buttons(decision, _)
    key = f"decision:{decision.id}:update:{event.id}"
    owed: list[Outgoing] = []
    if len(event.photos) > 1:
        owed.append(Outgoing(key=f"{key}:group", chat_id=community.chat_id,
                             method="sendMediaGroup", not_before=not_before, params={
            "chat_id": community.chat_id, "media": [
                {"type": "photo", "media": file_id, "parse_mode": "HTML",
                 **({"caption": text[:1024]} if i == 0 else {})}
                for i, file_id in enumerate(event.photos)]}))
    elif event.photos:
        owed.append(outgoing.photo(f"{key}:group", community.chat_id, event.photos[0], text,
                                   markup=follow, not_before=not_before))
    else:
        owed.append(outgoing.message(f"{key}:group", community.chat_id, text, markup=follow,
                                     not_before=not_before))
    for person in known.values():
        if not person.started:
            continue
        reader = translator(person.reads(services.default_language))
        owed.append(outgoing.message(
            f"{key}:{person.user_id}", person.user_id,
            reader(N_("News on a decision you follow in {group}:")).format(
                group=html.escape(community.title)) + "\n\n"
            + _card(decision, community, event, reader), not_before=not_before))
    await outbox.queue(conn, owed, now)


async def post_update(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``decision_update``, armed by versions before the outbox (a database
    upgraded with one still waiting): the update goes to the outbox now."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        await _queue_update(conn, services, work.payload["decision"], by_moderator=False,
                            update_id=work.payload["update"])
    services.outbox.kick()
    return Done()


def _card(decision: Decision, community: Community, event: Any, _: Translator) -> str:
    lines = [f"<b>{decision.ref} · {html.escape(decision.title)}</b>",
             progress_bar(event.percent) + " · " + _(STATUS_NAMES[event.status])]
    if event.text:
        label = _("Reason: {text}") if event.status in NEEDS_REASON else _("What changed: {text}")
        lines.append(label.format(text=html.escape(event.text)))
    if event.next_step:
        lines.append(_("Next step: {text}").format(text=html.escape(event.next_step)))
    if decision.due_at is not None:
        lines.append(_("Due: {date}").format(date=_local(decision.due_at, community)))
    return "\n".join(lines)


# --- reminders, escalation, 回头看 -------------------------------------------------------------


async def _arm_reminders(conn: AsyncConnection, services: Services, decision_id: int) -> None:
    """The decision's reminders, in the transaction that changed it."""
    settings = services.settings.decisions
    decision = await store.get(conn, decision_id)
    if decision is None:
        return
    key, payload = str(decision.id), {"decision": decision.id}
    now = services.clock.now()

    async def arm(kind: str, due_at: datetime) -> None:
        await due_work.schedule(conn, kind=kind, key=key, due_at=due_at, now=now,
                                payload=payload)

    if decision.status in OPEN_DECISIONS:
        await arm(STALE, now + timedelta(days=settings.update_interval_days))
        if decision.due_at is not None:
            await arm(DUE_SOON, max(now, decision.due_at
                                    - timedelta(days=settings.due_reminder_days)))
            await arm(OVERDUE, decision.due_at)
    elif decision.status is DecisionStatus.DONE and decision.done_at is not None:
        await arm(RATING, decision.done_at + timedelta(days=settings.rating_after_days))


async def _to_owner(app: YishiApp, work: DueWork, decision: Decision, community: Community,
                    msgid: str) -> None:
    """Tell the owner (or, with none, the moderators) in private, once for this run of
    ``work`` however often it is retried."""
    services = app.bot_data.services
    recipients = [decision.owner_id] if decision.owner_id else \
        await moderator_ids(app.bot, services, community)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        # Named by what it is about (the due date; for silence, the last update and how
        # many intervals have passed since): run again after a crash, it is not sent twice.
        last = (await store.timeline(conn, decision.id))[-1]
        interval = timedelta(days=services.settings.decisions.update_interval_days)
        about = f"{last.id}:{(now - last.at) // interval}" if work.kind == STALE else \
            (decision.due_at.isoformat() if decision.due_at else "")
        key = f"decision:{decision.id}:{work.kind}:{about}"
        known = await people.names(conn, recipients)
        owed = []
        for person in known.values():
            if not person.started:
                continue
            _ = translator(person.reads(services.default_language))
            owed.append(outgoing.message(f"{key}:{person.user_id}", person.user_id, _(
                msgid).format(
                ref=decision.ref, title=html.escape(decision.title),
                group=html.escape(community.title),
                days=services.settings.decisions.update_interval_days,
                when=_local(decision.due_at, community) if decision.due_at else "")))
        await outbox.queue(conn, owed, now)
    services.outbox.kick()


async def remind_stale(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``decision_stale``: no update for the interval. Repeats each interval."""
    services = app.bot_data.services
    decision, community = await _get(app, work.payload['decision'])
    if decision is None or community is None or decision.status not in OPEN_DECISIONS:
        return Done()
    now = services.clock.now()
    interval = timedelta(days=services.settings.decisions.update_interval_days)
    async with services.db.transaction() as conn:
        last = (await store.timeline(conn, decision.id))[-1].at
    if now < last + interval:
        return Defer(last + interval)  # an update came since this was armed
    quiet_until = community.quiet_until(now)
    if quiet_until is not None:
        return Defer(quiet_until)
    await _to_owner(app, work, decision, community, N_(
        "{ref} “{title}” in {group} has had no progress update for {days} days. Post one "
        "with /progress {ref}, even a short one."))
    return Defer(now + interval)


async def remind_due(app: YishiApp, work: DueWork) -> Outcome:
    services = app.bot_data.services
    decision, community = await _get(app, work.payload['decision'])
    if decision is None or community is None or decision.status not in OPEN_DECISIONS \
            or decision.due_at is None:
        return Done()
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    await _to_owner(app, work, decision, community, N_(
        "{ref} “{title}” in {group} is due {when}. Post progress with /progress {ref}."))
    return Done()


async def escalate_overdue(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``decision_overdue``: past the due date and not done; moderators hear once."""
    services = app.bot_data.services
    decision, community = await _get(app, work.payload['decision'])
    now = services.clock.now()
    if decision is None or community is None or not decision.overdue(now):
        return Done()
    quiet_until = community.quiet_until(now)
    if quiet_until is not None:
        return Defer(quiet_until)
    owner = await _owner_name(app, decision)
    recipients = await moderator_ids(app.bot, services, community)
    # Each moderator's word is queued under this due date: an escalation run again after a
    # crash, or a failed send retried, reaches nobody twice.
    due = decision.due_at.isoformat() if decision.due_at else ""
    key = f"decision:{decision.id}:overdue:{due}"
    async with services.db.transaction() as conn:
        known = await people.names(conn, recipients)
        owed = []
        for person in known.values():
            if not person.started:
                continue
            _ = translator(person.reads(services.default_language))
            owed.append(outgoing.message(f"{key}:{person.user_id}", person.user_id, _(
                "Overdue in {group}: {ref} “{title}” was due {when} and is at {percent}% "
                "(owner: {owner}).").format(
                group=html.escape(community.title), ref=decision.ref,
                title=html.escape(decision.title), when=_local(decision.due_at, community)
                if decision.due_at else "", percent=decision.progress,
                owner=html.escape(owner) if owner else _("nobody yet"))))
        await outbox.queue(conn, owed, now)
    services.outbox.kick()
    return Done()


def _rating_text(decision: Decision, stars: list[int], _: Translator) -> str:
    lines = [_("<b>Looking back</b> · {ref} “{title}” was done a while ago. How did it turn out? "
               "One rating per neighbour; you can change yours.").format(
        ref=decision.ref, title=html.escape(decision.title))]
    if stars:
        lines.append(_stars(average(stars), len(stars), _))
    return "\n".join(lines)


def _rating_buttons(decision: Decision) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"{n}★", callback_data=f"dr:"
                                                                              f"{decision.id}:{n}")
                                  for n in range(1, 6)]])


async def ask_rating(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``decision_rating``: weeks after done, the group rates the result."""
    services = app.bot_data.services
    decision, community = await _get(app, work.payload['decision'])
    if decision is None or community is None or decision.status is not DecisionStatus.DONE \
            or not community.active:
        return Done()
    quiet_until = community.quiet_until(services.clock.now())
    if quiet_until is not None:
        return Defer(quiet_until)
    _ = translator(community.language)
    sent = await app.bot.send_message(community.chat_id, _rating_text(decision, [], _),
                                      reply_markup=_rating_buttons(decision))
    async with services.db.transaction() as conn:
        await store.set_rating_post(conn, decision.id, sent.chat_id, sent.message_id)
    return Done()


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


def register(app: YishiApp) -> None:
    typed = F.TEXT & ~F.COMMAND
    app.add_handler(CommandHandler("decisions", list_decisions, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="decision", command="decisions", start=new_command,
        from_link=new_from_link, link="decision",
        states={
            TITLE: [CallbackQueryHandler(group_button, pattern=r"^dn:g:"),
                    MessageHandler(typed, title_typed)],
            OWNER: [CallbackQueryHandler(owner_chosen, pattern=r"^dn:o:(me|none)$"),
                    MessageHandler(typed, owner_chosen)],
            DUE: [CallbackQueryHandler(due_chosen, pattern=r"^dn:d:none$"),
                  MessageHandler(typed, due_chosen)],
            MILESTONES: [CallbackQueryHandler(milestones_chosen, pattern=r"^dn:m:none$"),
                         MessageHandler(typed, milestones_chosen)],
        },
    ))
    app.add_handler(CommandHandler("progress", _progress_in_group, filters=F.ChatType.GROUPS))
    app.add_handler(private_flow(
        app, name="progress", command="progress", start=progress_command,
        from_link=progress_from_link, link="progress",
        states={
            PICK: [CallbackQueryHandler(decision_picked, pattern=r"^dp:d:\d+$")],
            PERCENT: [CallbackQueryHandler(percent_chosen, pattern=r"^dp:p:\d+$"),
                      MessageHandler(typed, percent_chosen)],
            CHANGED: [MessageHandler(typed | F.PHOTO, changed_typed)],
            NEXT_STEP: [CallbackQueryHandler(next_step_typed, pattern=r"^dp:n:skip$"),
                        MessageHandler(typed, next_step_typed),
                        MessageHandler(F.PHOTO, late_photo)],
        },
    ))
    app.add_handler(CommandHandler("decision", decision_command))
    app.add_handler(CallbackQueryHandler(follow_button, pattern=r"^df:\d+$"))
    app.add_handler(CallbackQueryHandler(rate_button, pattern=r"^dr:\d+:\d$"))
    app.add_handler(CallbackQueryHandler(milestone_done, pattern=r"^dm:\d+:\d+$"))
    app.add_handler(CallbackQueryHandler(stale_button, pattern=r"^(dn|dp|df|dr|dm):"))
    scheduler = app.bot_data.services.scheduler
    scheduler.on(STALE, remind_stale)
    scheduler.on(DUE_SOON, remind_due)
    scheduler.on(OVERDUE, escalate_overdue)
    scheduler.on(RATING, ask_rating)
    scheduler.on(UPDATE_POST, post_update)


async def _progress_in_group(update: Update, context: YishiContext) -> None:
    """/progress in the group: progress is written in private."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    await message.reply_text(
        _("Progress updates are written in a private chat with me, then posted here."),
        reply_markup=private_link(context, "progress", community, _("Post progress")))
