"""Multi-step flows that survive restarts and close themselves when left idle.

Every flow is a PTB ConversationHandler with ``persistent=True`` whose states are stored
by ``bot.persistence.StoragePersistence``. Storing a state also arms a ``flow_idle`` due
item; any message from the person pushes it back; when it falls due the scheduler ends
the conversation and tells the person, in their language, how to pick it up again.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import YishiApp, YishiContext
from bot.deeplinks import payload_pattern
from bot.domain.models import DueWork
from bot.i18n import translator
from bot.inbox import mark_done
from bot.persistence import FLOW_IDLE
from bot.scheduler import Done, Outcome
from handlers import PERSISTENCE
from handlers.common import chat_translator, note_person
from storage import due_work, flow_state, people

log = logging.getLogger(__name__)

# A flow's entry: a command or a deep link, answered with the flow's first state.
Callback = Callable[[Update, YishiContext], Awaitable[int]]


def flow(
    app: YishiApp,
    *,
    name: str,
    command: str,
    entry_points: Sequence[BaseHandler[Any, Any, Any]],
    states: dict[object, list[BaseHandler[Any, Any, Any]]],
    fallbacks: Sequence[BaseHandler[Any, Any, Any]] = (),
) -> ConversationHandler[Any]:
    """Build a persistent, per-person flow started by ``/command``, with ``/cancel``."""
    with warnings.catch_warnings():
        # PTB warns that buttons are tracked per chat and user rather than per message.
        # That is what a flow in a private chat wants: one conversation per person, and
        # every button checks its own data anyway.
        warnings.filterwarnings("ignore", message=".*per_message=False", category=PTBUserWarning)
        handler: ConversationHandler[Any] = ConversationHandler(
            entry_points=list(entry_points),
            states=states,
            fallbacks=[*fallbacks, CommandHandler("cancel", cancel),
                       # Anything else sent in private mid-flow (a sticker, a voice, a
                       # photo where text is wanted) is answered, not ignored.
                       MessageHandler(filters.ChatType.PRIVATE & ~filters.COMMAND
                                      & ~filters.StatusUpdate.ALL, _unexpected(command))],
            name=name,
            persistent=True,
            allow_reentry=True,
            per_chat=True,
            per_user=True,
        )
    app.bot_data.services.flows[name] = (handler, command)
    return handler


def private_flow(
    app: YishiApp,
    *,
    name: str,
    command: str,
    start: Callback,
    from_link: Callback,
    link: str,
    states: dict[object, list[BaseHandler[Any, Any, Any]]],
) -> ConversationHandler[Any]:
    """A flow held in private, entered by ``/command`` there or by a group's deep link
    ``/start <link>_<community>`` (the group's own ``/command`` answers with that link)."""
    private = filters.ChatType.PRIVATE
    return flow(app, name=name, command=command, states=states, entry_points=[
        CommandHandler(command, start, filters=private),
        CommandHandler("start", from_link,
                       filters=private & filters.Regex(payload_pattern(link))),
    ])


def _unexpected(command: str) -> Callable[[Update, YishiContext], Awaitable[None]]:
    async def answer(update: Update, context: YishiContext) -> None:
        """Something this step cannot use: say so; the flow stays where it was."""
        _ = await chat_translator(update, context)
        message = update.effective_message
        if message is not None:
            await message.reply_text(_(
                "I cannot use that at this step. Please answer my last question (with text or "
                "a button), or send /cancel to stop /{command}.").format(command=command))
    return answer


async def cancel(update: Update, context: YishiContext) -> int:
    """/cancel inside a flow: drop it and say so."""
    _ = await chat_translator(update, context)
    if update.effective_message is not None:
        await update.effective_message.reply_text(_("Cancelled. Nothing was sent."))
    return ConversationHandler.END


async def after_update(update: object, context: YishiContext) -> None:
    """Runs last for every update: note who wrote in private (and their app's language),
    move their idle timers back, and write what the update changed to the database now
    rather than on the next interval, so a killed process loses no step of a flow."""
    if not isinstance(update, Update):
        return
    services = context.services
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and user is not None and chat.type == ChatType.PRIVATE:
        now = services.clock.now()
        idle = timedelta(minutes=services.settings.conversations.idle_timeout_minutes)
        async with services.db.transaction() as conn:
            if not context.person_forgotten:
                # Whoever writes in private has the chat open (again, if they had blocked
                # the bot): they can be written to.
                await note_person(conn, user, now, started=chat.id == user.id)
            await due_work.reschedule_prefix(
                conn, kind=FLOW_IDLE, key_prefix=f"{chat.id}:{user.id}:", due_at=now + idle)
    context.application.mark_data_for_update_persistence(
        chat_ids=chat.id if chat else None, user_ids=user.id if user else None
    )
    await context.application.update_persistence()
    # Only now, with everything it changed written, does the update leave the inbox.
    await mark_done(services, update.update_id)


async def end_idle_flow(app: YishiApp, work: DueWork) -> Outcome:
    """Due work ``flow_idle``: close a flow nobody has touched for the idle timeout."""
    services = app.bot_data.services
    name, chat_id, user_id = work.payload["name"], work.payload["chat_id"], work.payload["user_id"]
    registered = services.flows.get(name)
    key = (chat_id, user_id)
    async with services.db.transaction() as conn:
        state = await flow_state.conversation_state(conn, name, key)
        person = await people.get(conn, user_id)
    if registered is None or state is None:
        return Done()  # already finished, or a flow this version no longer has
    handler, command = registered
    # PTB has no public way to end someone's conversation from outside it; this is the
    # one place we reach in, pinned by tests/test_flows.py.
    handler._update_state(ConversationHandler.END, key)
    await app.update_persistence()
    default = services.default_language
    _ = translator(person.reads(default) if person else default)
    minutes = services.settings.conversations.idle_timeout_minutes
    try:
        await app.bot.send_message(
            chat_id,
            _("You left /{command} unfinished for {minutes} minutes, so I set it aside. "
              "Send /{command} to start again whenever you like.").format(
                command=command, minutes=minutes),
        )
    except Forbidden:
        log.info("person blocked the bot; idle flow closed silently", extra={"flow": name})
    return Done()


def register(app: YishiApp) -> None:
    app.bot_data.services.scheduler.on(FLOW_IDLE, end_idle_flow)
    app.add_handler(TypeHandler(object, after_update), group=PERSISTENCE)
