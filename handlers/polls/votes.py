"""Vote buttons (``v:<poll>:<option>``): validated against the poll, the option and the
voter, and recorded in batches (handlers/polls/ballots.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
)

from bot.context import YishiContext
from bot.i18n import N_, normalize_language, translator
from bot.inbox import mark_done
from handlers.common import (
    refuse,
)
from handlers.polls import callbacks
from handlers.polls.ballots import Press, VoteDesk
from handlers.polls.lifecycle import schedule_refresh
from handlers.polls.texts import REFUSALS


async def vote(update: Update, context: YishiContext, desk: VoteDesk) -> None:
    """A vote button: validated against the poll, the option and the voter, and recorded
    with the presses that came with it at ``desk`` (handlers/polls/ballots.py)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    pressed = callbacks.VOTE.parse(query.data)
    services = context.services
    if pressed is None:
        await refuse(update, context, N_("This button is out of date."))
        return
    poll_id, option = pressed
    chat_id = query.message.chat.id if query.message else None
    # "Anyone in the group" means in it now: someone who left can still see a public
    # group's buttons. Asked of Telegram, kept briefly (bot/roles.py).
    is_member = True
    if chat_id is not None and await desk.members_only(poll_id):
        is_member = await services.admins.is_member(context.bot, chat_id, user.id)
    recorded = await desk.press(Press(
        poll_id=poll_id, option=option, user_id=user.id, chat_id=chat_id,
        update_id=update.update_id, is_member=is_member))
    poll, person, outcome = recorded.poll, recorded.person, recorded.outcome
    language = person.language if person is not None and person.language else \
        normalize_language(user.language_code, services.default_language)
    _ = translator(language)
    if outcome == "stale" or poll is None:
        await refuse(update, context, N_("This button is out of date."))
    elif outcome == "closed":
        await query.answer(_("{ref} is closed; votes are no longer taken.").format(
            ref=poll.ref), show_alert=True)
    elif outcome in REFUSALS:
        await query.answer(_(REFUSALS[outcome]).format(unit=recorded.refused_unit or ""),
                           show_alert=True)
    elif recorded.choice is None:
        await query.answer(_("You can choose at most {count} options; remove one first.")
                           .format(count=poll.max_choices), show_alert=True)
    else:
        if not recorded.choice:
            text = _("Your vote on {ref} is withdrawn.").format(ref=poll.ref)
        else:
            text = _("Recorded for {ref}: {choice}").format(
                ref=poll.ref, choice=_.join(poll.options[i] for i in recorded.choice))
            if recorded.units:
                text += _(" (for {units})").format(units=_.join(recorded.units))
        tail = ""
        if recorded.receipt:
            tail = "\n" + _("Receipt: {receipt} (check it with /audit {ref} {receipt})").format(
                receipt=recorded.receipt, ref=poll.ref)
        # Telegram shows at most 200 characters: a long option is cut, never the receipt.
        # An alert, so the receipt can be read and noted.
        await query.answer(text[:200 - len(tail)] + tail, show_alert=bool(recorded.receipt))
        if recorded.choice != recorded.before:
            schedule_refresh(context.application, poll.id)


def vote_first(desk: VoteDesk) -> Callable[[Update, YishiContext], Awaitable[None]]:
    """The handler of vote buttons, recording at ``desk``."""
    async def take(update: Update, context: YishiContext) -> None:
        await taken_first(update, context, desk)
    return take


async def taken_first(update: Update, context: YishiContext, desk: VoteDesk) -> None:
    """Vote buttons are taken right after the inbox's guard, and nothing else sees them:
    a vote is a vote whatever flow the person is in, and in a burst every press would
    otherwise be offered to each of the features' handlers in turn. A press touches no
    flow and no chat or user data, so of what after_update does for other updates only
    the last step is left: the update leaves the inbox (the vote batch usually took it
    out already, in the transaction that recorded the vote)."""
    try:
        await vote(update, context, desk)
    except Exception as exc:
        # As PTB would: the error handler logs it and apologises to the person.
        await context.application.process_error(update=update, error=exc)
    await mark_done(context.services, update.update_id)
    raise ApplicationHandlerStop
