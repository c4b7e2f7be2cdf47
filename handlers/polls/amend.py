"""Amend and ask again: a consent proposal that met objections is amended by a moderator
and put to the group again as a new consent poll that names the one it amends.

When a consent poll closes with objections, the moderator who asked gets the objections
in private with an "Amend and ask again" button. Pressing it starts the poll flow with the
old poll's settings: the amended proposal is typed, the deadline chosen, and the preview
publishes it as usual. One amended poll per poll: the next round amends the new one."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot.context import YishiContext
from bot.domain.models import Community, Outgoing, Role
from bot.domain.polls import QUESTION_MAX, Method, Poll, amendable
from bot.i18n import N_, Translator
from handlers.common import person_translator, refuse, user_role
from handlers.outgoing import to_people
from handlers.polls import callbacks
from handlers.polls.draft import DRAFT, QUESTION
from storage import Connection, communities
from storage import polls as store


def _objections(reasons: list[str], _: Translator) -> list[str]:
    return [_("Objections (without names):"),
            *(f"• {html.escape(reason)}" for reason in reasons)] if reasons else []


async def offer(conn: Connection, poll: Poll, community: Community,
                reasons: list[str]) -> list[Outgoing]:
    """Queued as the poll closes (in its transaction): the moderator who asked is told the
    proposal met objections, with the button to amend it."""
    if not amendable(poll) or poll.created_by is None:
        return []
    return await to_people(
        conn, [poll.created_by], f"poll:{poll.id}:amend", community.language,
        lambda _: "\n".join([_("{ref} “{question}” was not consented.").format(
            ref=poll.ref, question=html.escape(poll.question)), *_objections(reasons, _),
            "", _("Amend the proposal to meet the objections and ask {group} again: the new "
                  "poll names {ref}.").format(group=html.escape(community.title),
                                              ref=poll.ref)]),
        buttons=lambda _: InlineKeyboardMarkup([[InlineKeyboardButton(
            _("✏️ Amend and ask again"), callback_data=callbacks.AMEND.data(poll.id))]]))


async def amend_pressed(update: Update, context: YishiContext) -> int:
    """The button: a new draft with the old poll's settings, asking for the amended
    proposal. Refused, changing nothing, for a poll that cannot be amended (passed, still
    open, amended already) or a person who is not the group's moderator."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    pressed = callbacks.AMEND.parse(query.data)
    async with context.services.db.transaction() as conn:
        poll = await store.get(conn, pressed[0]) if pressed else None
        again = await store.amended_by(conn, poll.id) if poll else None
        community = await communities.by_id(conn, poll.community_id) if poll else None
    if poll is None or community is None or not community.active or not amendable(poll):
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("Sorry, only the group's moderators can do that. "
                                         "Nothing was changed."))
        return ConversationHandler.END
    _ = await person_translator(update, context)
    if again is not None:
        await query.answer(_("{ref} was amended already: {again} asks again.").format(
            ref=poll.ref, again=again.ref), show_alert=True)
        return ConversationHandler.END
    await query.answer()
    try:  # the objections stay in view while the proposal is rewritten; the button goes
        await query.edit_message_reply_markup(None)
    except BadRequest:
        pass
    context.user_data[DRAFT] = {
        "community": community.id, "amends": poll.id, "amends_ref": poll.ref,
        "audience": poll.audience.value,
        "weighting": poll.weighting.value, "rule": poll.rule.value, "multiple": False,
        "max_choices": 1, "live": poll.live_results, "secret": poll.secret,
        "method": Method.CONSENT.value, "scope_building": poll.scope_building,
        "scope_staircase": poll.scope_staircase}
    assert update.effective_chat is not None
    await update.effective_chat.send_message(_(
        "Write the amended proposal for {group} (at most {limit} characters). It was: "
        "“{question}”").format(group=html.escape(community.title), limit=QUESTION_MAX,
                               question=html.escape(poll.question)))
    return QUESTION

