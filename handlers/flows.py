"""Multi-step flows that survive restarts and close themselves when left idle.

Every flow is a PTB ConversationHandler with ``persistent=True`` whose states are stored
by ``bot.persistence.StoragePersistence``. Storing a state also arms a ``flow_idle`` due
item; any message from the person pushes it back; when it falls due the scheduler ends
the conversation and tells the person, in their language, how to pick it up again.
"""

from __future__ import annotations

import html
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.buttons import Choice, button
from bot.context import YishiApp, YishiContext
from bot.deeplinks import payload_pattern
from bot.domain.models import DueWork
from bot.i18n import N_, translator
from bot.inbox import mark_done
from bot.persistence import FLOW_IDLE
from bot.scheduler import Done, Outcome
from bot.sending import Asker, answering
from bot.transcript import Touch, begin_update, end_update, transcript_of
from handlers import BEGIN, ONE_FLOW, PERSISTENCE
from handlers.common import (
    chat_translator,
    is_group,
    note_person,
    person_language,
    person_translator,
    refuse,
)
from storage import due_work, flow_state, people

log = logging.getLogger(__name__)

# A flow's entry: a command or a deep link, answered with the flow's first state.
Callback = Callable[[Update, YishiContext], Awaitable[int]]


# What the person is doing in each flow, said when it is cancelled or another would start.
SWITCH = button("fl", Choice("leave", "stay"))
# In a person's user_data: the start of another flow, waiting for them to say whether to
# leave the one they are in; and each flow's prompts still carrying buttons, by
# "<flow>:<chat>", so that they lose them once the flow is over.
PENDING = "flow_switch"
PROMPTS = "flow_prompts"
PROMPTS_KEPT = 20


@dataclass(frozen=True)
class Flow:
    """A registered flow: its handler, the command that starts it, and what a person in it
    is doing, as a phrase ("reporting a problem")."""

    name: str
    handler: ConversationHandler[Any]
    command: str
    doing: str

    def state(self, key: tuple[int, int]) -> object | None:
        # PTB keeps no public view of one conversation's state; this and ``end`` are the
        # places we reach in, pinned by tests/test_flows.py.
        return self.handler._conversations.get(key)

    def end(self, key: tuple[int, int]) -> None:
        self.handler._update_state(ConversationHandler.END, key)

    def starts(self, update: Update) -> bool:
        return any(entry.check_update(update) not in (None, False)
                   for entry in self.handler.entry_points)


def flow(
    app: YishiApp,
    *,
    name: str,
    command: str,
    doing: str,
    entry_points: Sequence[BaseHandler[Any, Any, Any]],
    states: dict[object, list[BaseHandler[Any, Any, Any]]],
    fallbacks: Sequence[BaseHandler[Any, Any, Any]] = (),
) -> ConversationHandler[Any]:
    """Build a persistent, per-person flow started by ``/command``, with ``/cancel``.
    ``doing`` (marked with ``N_``) says what the person is doing in it."""
    with warnings.catch_warnings():
        # PTB warns that buttons are tracked per chat and user rather than per message.
        # That is what a flow in a private chat wants: one conversation per person, and
        # every button checks its own data anyway.
        warnings.filterwarnings("ignore", message=".*per_message=False", category=PTBUserWarning)
        handler: ConversationHandler[Any] = ConversationHandler(
            entry_points=list(entry_points),
            states=states,
            fallbacks=[*fallbacks, CommandHandler("cancel", _cancel(doing, command)),
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
    app.bot_data.services.flows[name] = Flow(name, handler, command, doing)
    return handler


def private_flow(
    app: YishiApp,
    *,
    name: str,
    command: str,
    doing: str,
    start: Callback,
    from_link: Callback,
    link: str,
    states: dict[object, list[BaseHandler[Any, Any, Any]]],
    also: Sequence[BaseHandler[Any, Any, Any]] = (),
) -> ConversationHandler[Any]:
    """A flow held in private, entered by ``/command`` there or by a group's deep link
    ``/start <link>_<community>`` (the group's own ``/command`` answers with that link),
    or by the entry points ``also`` names (a button in private)."""
    private = filters.ChatType.PRIVATE
    return flow(app, name=name, command=command, doing=doing, states=states, entry_points=[
        CommandHandler(command, start, filters=private),
        CommandHandler("start", from_link,
                       filters=private & filters.Regex(payload_pattern(link))),
        *also,
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


def _cancel(doing: str, command: str) -> Callable[[Update, YishiContext], Awaitable[int]]:
    async def cancel(update: Update, context: YishiContext) -> int:
        """/cancel inside a flow: drop it and say which."""
        _ = await chat_translator(update, context)
        if update.effective_message is not None:
            await update.effective_message.reply_text(
                _("Stopped {doing} (/{command}). Nothing from it was sent.").format(
                    doing=_(doing), command=command))
        return ConversationHandler.END
    return cancel


async def one_flow_at_a_time(update: Update, context: YishiContext) -> None:
    """Someone in one flow starts another: ask whether to leave the first, and hold the
    start until they answer (one flow at a time, so no text or photo goes astray)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    flows = context.services.flows.values()
    key = (chat.id, user.id)
    current = next((f for f in flows if f.state(key) is not None), None)
    if current is None:
        return
    starting = next((f for f in flows if f is not current and f.starts(update)), None)
    if starting is None:
        return
    _ = await person_translator(update, context)
    context.user_data[PENDING] = {"from": current.name, "to": starting.name, "chat": chat.id,
                                  "update": update.to_dict()}
    if update.callback_query is not None:
        await update.callback_query.answer()
    await chat.send_message(
        _("You are in the middle of {doing} (/{command}). Leave it and start /{new}?").format(
            doing=_(current.doing), command=current.command, new=starting.command),
        reply_markup=InlineKeyboardMarkup([
            [InlineKeyboardButton(_("Leave it and start /{new}").format(new=starting.command),
                                  callback_data=SWITCH.data("leave"))],
            [InlineKeyboardButton(_("Go on with /{command}").format(command=current.command),
                                  callback_data=SWITCH.data("stay"))]]))
    await after_update(update, context)
    raise ApplicationHandlerStop


async def switch_chosen(update: Update, context: YishiContext) -> None:
    """The answer to :func:`one_flow_at_a_time`: leave the flow and start the held one, or
    go on with it."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and chat is not None and user is not None
    parsed = SWITCH.parse(query.data)
    pending = context.user_data.get(PENDING)
    flows = context.services.flows
    key = (chat.id, user.id)
    if parsed is None or not pending or pending.get("chat") != chat.id \
            or pending.get("to") not in flows:
        await refuse(update, context, N_("This button is out of date."))
        return
    context.user_data.pop(PENDING)
    _ = await person_translator(update, context)
    current, starting = flows.get(pending["from"]), flows[pending["to"]]
    active = current is not None and current.state(key) is not None
    if parsed[0] == "stay":
        if not active:
            await refuse(update, context, N_("This button is out of date."))
            return
        assert current is not None
        await query.answer()
        await query.edit_message_text(
            _("Going on with {doing}: answer my last question above, or send /cancel to "
              "stop it.").format(doing=_(current.doing)))
        return
    if active:
        assert current is not None
        current.end(key)
        await query.edit_message_text(
            _("Stopped {doing} (/{command}). Nothing from it was sent.").format(
                doing=_(current.doing), command=current.command))
    else:
        await query.edit_message_reply_markup(None)
    held = pending["update"]
    if "callback_query" in held:
        # The held press is answered as this one: Telegram answers each press once.
        held["callback_query"]["id"] = query.id
    else:
        await query.answer()
    original = Update.de_json(held, context.bot)
    check = starting.handler.check_update(original)
    if check is None or check is False:
        return
    fresh = type(context).from_update(original, context.application)
    await fresh.refresh_data()
    await starting.handler.handle_update(original, context.application, check, fresh)


async def after_update(update: object, context: YishiContext) -> None:
    """Runs last for every update: note who wrote in private (and their app's language),
    move their idle timers back, and write what the update changed to the database now
    rather than on the next interval, so a killed process loses no step of a flow."""
    if not isinstance(update, Update):
        return
    services = context.services
    chat, user = update.effective_chat, update.effective_user
    touched = end_update()
    if chat is not None and user is not None and chat.type == ChatType.PRIVATE:
        if update.message is not None:
            transcript_of(context.bot).saw(chat.id, update.message.message_id)
        await _tidy_prompts(context, (chat.id, user.id), touched)
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


async def _tidy_prompts(context: YishiContext, key: tuple[int, int],
                        touched: list[Touch]) -> None:
    """Note the prompts with buttons that a flow's steps sent; once the flow is over (done,
    cancelled or left), take the buttons off those this update did not touch itself. A
    message the flow only edited (the card whose button started it) is not its own."""
    chat_id = key[0]
    here = [t for t in touched if t.chat_id == chat_id]
    prompts = context.user_data.get(PROMPTS) if context.user_data is not None else None
    if not here and not prompts:
        return
    prompts = dict(prompts or {})
    for flow_ in context.services.flows.values():
        slot = f"{flow_.name}:{chat_id}"
        if flow_.state(key) is not None:
            plain = {t.message_id for t in here if not t.has_buttons}
            ids = [i for i in prompts.get(slot, []) if i not in plain]
            ids += [t.message_id for t in here
                    if t.sent and t.has_buttons and t.message_id not in ids]
            if ids:
                prompts[slot] = ids[-PROMPTS_KEPT:]
            else:
                prompts.pop(slot, None)
        elif slot in prompts:
            done = {t.message_id for t in here}
            await _take_buttons_off(context.bot, chat_id,
                                    [i for i in prompts.pop(slot) if i not in done])
    if prompts:
        context.user_data[PROMPTS] = prompts
    else:
        context.user_data.pop(PROMPTS, None)


async def _take_buttons_off(bot: Any, chat_id: int, message_ids: Sequence[int]) -> None:
    for message_id in message_ids:
        try:
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id,
                                                reply_markup=None)
        except (BadRequest, Forbidden):
            pass  # deleted, too old to edit, already without buttons, or the bot blocked


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
    registered.end(key)
    command = registered.command
    prompts = app.user_data.get(user_id, {}).get(PROMPTS) or {}
    await _take_buttons_off(app.bot, chat_id, prompts.pop(f"{name}:{chat_id}", []))
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


async def _begin(update: object, context: YishiContext) -> None:
    begin_update()
    # What this update's handling sends goes before scheduled work; a reply to a person
    # in a busy group may go to them in private (bot/delivery.py).
    answering(_asker(update, context), who=_whose(update))
    if context.services.sharing is not None and isinstance(update, Update):
        await _read_flows_again(update, context)


async def _read_flows_again(update: Update, context: YishiContext) -> None:
    """Several instances: the person's last step in this chat may have been handled by
    another (bot/sharing.py), so where they are in each flow is read from the database."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    key = (chat.id, user.id)
    async with context.services.db.transaction() as conn:
        states = await flow_state.states_of(conn, key)
    for flow_ in context.services.flows.values():
        conversations = flow_.handler._conversations  # PTB keeps them in memory
        state = states.get(flow_.handler.name)
        if state is None:
            conversations.data.pop(key, None)
        else:
            conversations.update_no_track({key: state})


def _whose(update: object) -> int | None:
    """Whose turn the answers take (bot/sending.py): the sender, else the chat."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    return update.effective_chat.id if update.effective_chat is not None else None


def _asker(update: object, context: YishiContext) -> Asker | None:
    if not isinstance(update, Update):
        return None
    message, user = update.message, update.effective_user
    if (message is None or user is None or user.is_bot or message.sender_chat is not None
            or not is_group(message.chat)):
        return None
    group, said = message.chat.title or "", (message.text or "").split(maxsplit=1)
    command = said[0].split("@")[0] if said and said[0].startswith("/") else ""

    async def note() -> str:
        _ = translator(await person_language(context, user))
        if command:
            words = _("{group} is busy right now, so here is my answer to your {command} "
                      "in private.")
        else:
            words = _("{group} is busy right now, so here is my answer to you in private.")
        return "<i>" + words.format(group=html.escape(group), command=command) + "</i>"

    return Asker(user.id, message.chat.id, message.message_id, note)


def register(app: YishiApp) -> None:
    app.bot_data.services.scheduler.on(FLOW_IDLE, end_idle_flow)
    app.add_handler(TypeHandler(object, _begin), group=BEGIN)
    app.add_handler(TypeHandler(Update, one_flow_at_a_time), group=ONE_FLOW)
    app.add_handler(CallbackQueryHandler(switch_chosen, pattern=SWITCH.matches))
    app.add_handler(TypeHandler(object, after_update), group=PERSISTENCE)
