"""Vote buttons (``v:<poll>:<option>``): validated against the poll, the option and the
voter, and recorded in batches (handlers/polls/ballots.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
)

from bot.context import YishiContext
from bot.i18n import N_, Translator, normalize_language, translator
from bot.inbox import mark_done
from handlers.common import (
    refuse,
)
from handlers.polls import callbacks
from handlers.polls.ballots import Press, Recorded, VoteDesk
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
    language = recorded.language or normalize_language(user.language_code,
                                                       services.default_language)
    if changed(recorded):
        schedule_refresh(context.application, recorded.poll.id)  # type: ignore[union-attr]
    text, alert = answer_for(recorded, translator(language))
    await query.answer(text, show_alert=alert)


def changed(recorded: Recorded) -> bool:
    """Whether the press changed what the poll's post shows."""
    return (recorded.poll is not None and recorded.outcome == "ok"
            and recorded.choice is not None and recorded.choice != recorded.before)


def answer_for(recorded: Recorded, _: Translator) -> tuple[str, bool]:
    """What the presser is told of their press (the answer's text, and whether it is an
    alert that stays until dismissed)."""
    poll, outcome = recorded.poll, recorded.outcome
    if outcome == "stale" or poll is None:
        return _("This button is out of date."), True
    if outcome == "closed":
        return _("{ref} is closed; votes are no longer taken.").format(ref=poll.ref), True
    if outcome in REFUSALS:
        return _(REFUSALS[outcome]).format(unit=recorded.refused_unit or ""), True
    if recorded.choice is None:
        return _("You can choose at most {count} options; remove one first.").format(
            count=poll.max_choices), True
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
    # Telegram shows at most 200 characters: a long option is cut, never the receipt. An
    # alert, so the receipt can be read and noted.
    return text[:200 - len(tail)] + tail, bool(recorded.receipt)


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
