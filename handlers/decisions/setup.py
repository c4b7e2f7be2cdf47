"""A decision made by a vote, set up from the moderators' notice with buttons: "I will own
it" and a due date two weeks, a month or three months ahead. The typed commands
(/decision D-1 owner …, due …) do the same with any person and any date."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import YishiContext
from bot.domain.decisions import OPEN_DECISIONS, Decision
from bot.domain.models import Community, Role
from bot.i18n import N_
from handlers.common import person_translator, record_audit, refuse, user_role
from handlers.decisions import callbacks
from handlers.decisions.lifecycle import _arm_reminders, _get
from handlers.decisions.texts import DUE_IN_DAYS, DUE_TIME, _local, setup_buttons
from storage import decisions as store


async def _decision_for_moderator(update: Update, context: YishiContext, decision_id: int
                                  ) -> tuple[Decision, Community] | None:
    """The decision the button is about, if it is still open and the presser moderates
    its group; otherwise the presser is told why not."""
    user = update.effective_user
    assert user is not None
    decision, community = await _get(context, decision_id)
    if decision is None or community is None or decision.status not in OPEN_DECISIONS:
        await refuse(update, context, N_("This button is out of date."))
        return None
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return None
    return decision, community


async def _show_what_is_left(update: Update, context: YishiContext, decision_id: int,
                             done: str) -> None:
    query = update.callback_query
    assert query is not None
    _ = await person_translator(update, context)
    async with context.services.db.transaction() as conn:
        now_set = await store.get(conn, decision_id)
    await query.answer(done)
    if now_set is not None:
        await query.edit_message_reply_markup(setup_buttons(now_set, _))


async def take_ownership(update: Update, context: YishiContext) -> None:
    """"I will own it": the moderator who presses owns the decision."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    parsed = callbacks.TAKE.parse(query.data)
    found = await _decision_for_moderator(update, context, parsed[0]) if parsed else None
    if found is None:
        if parsed is None:
            await refuse(update, context, N_("This button is out of date."))
        return
    decision, community = found
    _ = await person_translator(update, context)
    if decision.owner_id is not None:
        await query.answer(_("{ref} already has an owner.").format(ref=decision.ref),
                           show_alert=True)
        return
    services = context.services
    async with services.db.transaction() as conn:
        await store.change(conn, decision.id, now=services.clock.now(), owner_id=user.id)
        await _arm_reminders(conn, services, decision.id)
    await record_audit(context, community, update, "decision.owner", decision=decision.id,
                       owner=user.id)
    await _show_what_is_left(update, context, decision.id, _(
        "You own {ref} now. Post progress with /progress {ref}.").format(ref=decision.ref))


async def due_in(update: Update, context: YishiContext) -> None:
    """A due date some weeks ahead, at the usual hour that day."""
    query = update.callback_query
    assert query is not None
    parsed = callbacks.DUE_IN.parse(query.data)
    found = await _decision_for_moderator(update, context, parsed[0]) if parsed else None
    if found is None or parsed is None:
        if parsed is None:
            await refuse(update, context, N_("This button is out of date."))
        return
    decision, community = found
    services = context.services
    now = services.clock.now()
    zone = ZoneInfo(community.timezone)
    day = (now.astimezone(zone) + timedelta(days=DUE_IN_DAYS[parsed[1]])).date()
    due = datetime.combine(day, DUE_TIME, tzinfo=zone)
    async with services.db.transaction() as conn:
        await store.change(conn, decision.id, now=now, due_at=due)
        await _arm_reminders(conn, services, decision.id)
    await record_audit(context, community, update, "decision.due", decision=decision.id,
                       due=due.isoformat())
    _ = await person_translator(update, context)
    await _show_what_is_left(update, context, decision.id, _("{ref} is due {when}.").format(
        ref=decision.ref, when=html.escape(_local(due, community))))
