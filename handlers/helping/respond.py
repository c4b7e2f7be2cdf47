"""The buttons of a piece of help: a neighbour answers the post, the author chooses one or
withdraws, the helper says how long it took, the person helped confirms. Each press is
checked against the database (bot/domain/helping.py says who may do what) and refused
politely, changing nothing, when it does not fit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.buttons import Button
from bot.context import YishiContext
from bot.domain.helping import HelpStatus, shown
from bot.i18n import N_
from handlers.common import person_translator, refuse
from handlers.helping import callbacks
from handlers.helping.lifecycle import answer, choose, claim, confirm, withdraw

# Why a press changed nothing, by the code the domain gives.
REFUSALS = {
    "gone": N_("This button is out of date."),
    "not_open": N_("A neighbour has already been chosen for this, or it is closed."),
    "own": N_("This is your own post; you will be told when neighbours answer."),
    "again": N_("You have already answered; you will be told if you are chosen."),
    "not_started": N_("Please start a private chat with me first (open my profile and press "
                      "Start), so that I can tell you if you are chosen; then press again."),
    "not_author": N_("Only the person who posted this can do that."),
    "not_answered": N_("This neighbour has not answered this post."),
    "not_matched": N_("There is nothing to say about this now."),
    "not_helper": N_("Only the neighbour who helped can say how long it took."),
    "too_early": N_("It has not started yet; tell me afterwards."),
    "not_claimed": N_("There is nothing to confirm now."),
    "not_helped": N_("Only the person who was helped can confirm it; nobody confirms their "
                     "own help."),
    "too_late": N_("It can no longer be withdrawn."),
    "overdrawn": N_("Your time bank does not hold enough credits to pay for it. Nothing was "
                    "changed; you can confirm without paying."),
}

async def _act(update: Update, context: YishiContext, button: Button,
               run: Callable[..., Awaitable[tuple[Any, ...]]]
               ) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
    """Run the action of a press of ``button`` in one transaction, as
    ``run(conn, services, <the help's id>, <who pressed>, <the button's other value, if
    any>, now)``; refuse with its reason, or kick the outbox and give back the button's
    values and what the action returned."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = button.parse(query.data)
    assert values is not None  # the handler's pattern is this button's
    services = context.services
    async with services.db.transaction() as conn:
        done = await run(conn, services, values[0], user.id, *values[1:],
                         services.clock.now())
    if done[0] is not None:
        await refuse(update, context, REFUSALS.get(done[0], REFUSALS["gone"]))
        return None
    services.outbox.kick()
    return values, done


async def answer_pressed(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    acted = await _act(update, context, callbacks.ANSWER, answer)
    if acted is None:
        return
    done = acted[1]
    _ = await person_translator(update, context)
    await query.answer(_("Thank you! {ref}'s author will choose, and I will tell you in "
                         "private.").format(
        ref=done[1].ref), show_alert=True)


async def choose_pressed(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    acted = await _act(update, context, callbacks.CHOOSE, choose)
    if acted is not None:
        await query.answer()
        await query.edit_message_reply_markup(None)


async def withdraw_pressed(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    acted = await _act(update, context, callbacks.WITHDRAW, withdraw)
    if acted is None:
        return
    done = acted[1]
    _ = await person_translator(update, context)
    await query.answer()
    await query.edit_message_text(_("{ref} is withdrawn.").format(ref=done[1].ref))


async def claim_pressed(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    acted = await _act(update, context, callbacks.CLAIM, claim)
    if acted is None:
        return
    done = acted[1]
    _ = await person_translator(update, context)
    await query.answer()
    help_ = done[1]
    if help_.status is HelpStatus.NOT_HAPPENED:
        text = _("Noted: {ref} did not happen.").format(ref=help_.ref)
    else:
        text = _("Noted: {ref}. I have asked the neighbour you helped to confirm it.").format(
            ref=help_.ref)
    await query.edit_message_text(text)


async def confirm_pressed(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    acted = await _act(update, context, callbacks.CONFIRM, confirm)
    if acted is None:
        return
    values, done = acted
    _ = await person_translator(update, context)
    await query.answer()
    help_, worth = done[1], done[2]
    if values[1] == "no":
        text = _("Noted: not confirmed. I have asked them to talk it over with you.")
    elif values[1] == "pay":
        text = _("Confirmed {ref}, and {credits} credits paid from your time bank. "
                 "Thank you!").format(ref=help_.ref, credits=shown(worth))
    else:
        text = _("Confirmed {ref}. Thank you!").format(ref=help_.ref)
    await query.edit_message_text(text)
