"""/decision new: a moderator writes down a decision (title, owner, due date, milestones)
in private."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.models import Community, Person, Role
from bot.i18n import N_
from handlers.common import (
    begin_for_chosen,
    begin_for_moderator,
    begin_from_link,
    date_examples,
    flow_reply,
    person_translator,
    record_audit,
    refuse,
    user_role,
)
from handlers.decisions import callbacks
from handlers.decisions.lifecycle import (
    TITLE_MAX,
    _arm_reminders,
    _tell_owner_assigned,
    announced,
)
from handlers.decisions.manage import list_decisions
from handlers.decisions.texts import DUE_TIME, due_problem
from handlers.roles import named_person  # the same @name / reply rules as /role
from storage import communities, memberships, outbox, people
from storage import decisions as store

TITLE, OWNER, DUE, MILESTONES = range(60, 64)


DRAFT, PROGRESS = "decision", "progress"


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
                                     choose=callbacks.CREATE_FOR,
                                     refusal=NOT_MODERATOR)


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
    people_rows = [[InlineKeyboardButton(person.name,
                                         callback_data=callbacks.OWNER_PERSON.data(person.user_id))]
                   for person in await _who_may_own(context, draft["community"], message)]
    await message.reply_text(
        _("Who owns it? Press a name, or send their @username or their name on the roster."),
        reply_markup=InlineKeyboardMarkup([*people_rows, [
            InlineKeyboardButton(_("Me"), callback_data=callbacks.OWNER.data("me")),
            InlineKeyboardButton(_("Decide later"), callback_data=callbacks.OWNER.data("none"))]]))
    return OWNER


# At most this many people are offered as buttons for the owner.
OWNER_BUTTONS = 6


async def _who_may_own(context: YishiContext, community_id: int, message: Any) -> list[Person]:
    """The people the group gave a role to carry things out (handlers, building leads),
    then its other moderators: the usual owners, offered by name."""
    user_id = message.from_user.id if message.from_user else None
    async with context.services.db.transaction() as conn:
        ids = [*await memberships.with_role(conn, community_id, Role.HANDLER),
               *await memberships.with_role(conn, community_id, Role.BUILDING_LEAD),
               *await memberships.with_role(conn, community_id, Role.MODERATOR)]
        named = await people.names(conn, [i for i in dict.fromkeys(ids) if i != user_id])
    return [named[i] for i in dict.fromkeys(ids) if i in named][:OWNER_BUTTONS]


async def owner_chosen(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    draft = context.user_data.get(DRAFT) or {}
    _ = await person_translator(update, context)
    if update.callback_query is not None and callbacks.OWNER_PERSON.matches(
            update.callback_query.data):
        chosen = callbacks.OWNER_PERSON.parse(update.callback_query.data)
        offered = await _who_may_own(context, draft.get("community", 0),
                                     update.callback_query)
        if chosen is None or chosen[0] not in {p.user_id for p in offered}:
            await refuse(update, context, N_("This button is out of date."))
            return OWNER
        draft["owner"] = chosen[0]
    elif update.callback_query is not None:
        choice = (update.callback_query.data or "").rsplit(":", 1)[-1]
        draft["owner"] = user.id if choice == "me" else None
    else:
        words = ((update.effective_message.text or "") if update.effective_message
                 else "").split()
        person = await named_person(update, context, words,
                                    community_id=draft.get("community"))
        if person is None:
            assert update.effective_message is not None
            await update.effective_message.reply_text(
                _("I do not know that person yet. Name them by @username, by their name on "
                  "the roster, or reply to one of their messages."))
            return OWNER
        draft["owner"] = person.user_id
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, draft.get("community", 0))
    zone = community.timezone if community else context.services.settings.community.timezone
    await flow_reply(update, _("By when? Type a date ({examples}), or press a button.").format(
        examples=date_examples(_, context.services.clock.now(), zone, at=DUE_TIME)),
                     InlineKeyboardMarkup([[InlineKeyboardButton(
                         _("No due date"), callback_data=callbacks.NO_DUE_DATE.data())]]))
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
            due = parse_deadline(text, context.services.clock.now(), community.timezone,
                                 minimum=timedelta(0), maximum=timedelta(days=3650),
                                 default_time=DUE_TIME)
        except DeadlineError as exc:
            await update.effective_message.reply_text(due_problem(
                _, exc.code, context.services.clock.now(), community.timezone))
            return DUE
        draft["due"] = due.isoformat()
    else:
        draft["due"] = None
    await flow_reply(update, _("Any milestones? Send them one per line, or press Done."),
                     InlineKeyboardMarkup([[InlineKeyboardButton(
                         _("Done, no milestones"), callback_data=callbacks.NO_MILESTONES.data())]]))
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
        await outbox.queue(conn, [announced(decision, community, owner)], now)
    services.outbox.kick()
    await record_audit(context, community, update, "decision.create", decision=decision.id)
    await flow_reply(update, _("Written down as {ref} and announced in the group; the "
                               "owner posts progress with /progress {ref}.").format(
        ref=decision.ref))
    if owner is not None and owner.user_id != user.id:
        await _tell_owner_assigned(context, decision, community, owner)
    return ConversationHandler.END
