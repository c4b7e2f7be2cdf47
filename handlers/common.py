"""What every feature's handlers share: finding the community and the speaker's language,
telling who may do what, and the one guard for privileged commands and buttons."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ConversationHandler

from bot.buttons import Button
from bot.context import YishiContext
from bot.deeplinks import DeepLink
from bot.domain.models import Community, Person, Role
from bot.domain.roles import effective_role
from bot.domain.typed import visible
from bot.exports import csv_bytes, xlsx_bytes
from bot.i18n import N_, Translator, app_language, normalize_language, translator
from bot.services import Services
from bot.transcript import transcript_of
from storage import Connection, audit, communities, memberships, people

GROUP_TYPES = {ChatType.GROUP, ChatType.SUPERGROUP}
Callback = Callable[[Update, YishiContext], Awaitable[Any]]

# In a moderator's user_data: a round-table meeting to call for a topic (its title, agenda
# and time), left by the topic's "discuss at a meeting" (handlers/topics) and taken by the
# next /meeting for that group (handlers/meetings).
MEETING_PREFILL = "meeting_prefill"


def is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in GROUP_TYPES


def is_not_modified(exc: BadRequest) -> bool:
    """Telegram says an edit changed nothing only in the error text; match it here alone."""
    return "message is not modified" in str(exc).lower()


def display_name(user: User) -> str:
    return user.full_name or user.username or str(user.id)


async def note_person(conn: Connection, user: User, now: datetime, *,
                      started: bool = False) -> Person:
    """Record or refresh someone the bot has met, with their app's language."""
    return await people.seen(conn, user_id=user.id, name=display_name(user),
                             username=user.username, now=now, started=started,
                             app_language=app_language(user.language_code))


async def is_group_member(context: YishiContext, community: Community, user_id: int) -> bool:
    """Whether Telegram says the person is in the community's group right now."""
    try:
        member = await context.bot.get_chat_member(community.chat_id, user_id)
    except TelegramError:
        return False
    if member.status == ChatMemberStatus.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return member.status not in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)


async def ensure_community(context: YishiContext, chat: Chat) -> Community:
    """The community for a group chat, created with the defaults if the bot missed its joining.

    A linked moderators' chat acts for its building: it gets the building's community.
    """
    services = context.services
    async with services.db.transaction() as conn:
        moderated = await communities.by_moderators_chat(conn, chat.id)
        if moderated is not None:
            return moderated
        found = await communities.by_chat(conn, chat.id)
        if found is not None and found.active:
            return found
        community, _ = await communities.activate(
            conn,
            chat_id=chat.id,
            title=chat.title or str(chat.id),
            language=services.default_language,
            timezone=services.settings.community.timezone,
            quiet_hours=services.default_quiet_hours,
            now=services.clock.now(),
        )
        return community


async def person_language(context: YishiContext, user: User) -> str:
    """The language a person reads in private: their choice, else their app's, else the default."""
    async with context.services.db.transaction() as conn:
        person = await people.get(conn, user.id)
    if person is not None and person.language:
        return person.language
    return normalize_language(user.language_code, context.services.default_language)


def schedule_spaced(app: Any, name: str, spacing: float, callback: Any, data: Any) -> None:
    """Run ``callback`` once soon, but never sooner than ``spacing`` seconds after the last
    run planned under ``name``; while one is pending, further requests join it. This is how
    a burst of presses becomes one edit of a live post (a rate limit, so real time)."""
    services = app.bot_data.services
    if app.job_queue is None or app.job_queue.get_jobs_by_name(name):
        return
    now = monotonic()
    at = max(now, services.post_edited.get(name, float("-inf")) + spacing)
    services.post_edited[name] = at
    # However late a busy moment makes it, it runs: APScheduler would otherwise drop a
    # job more than a second late, and the post would keep its old figures.
    app.job_queue.run_once(callback, when=at - now, data=data, name=name,
                           job_kwargs={"misfire_grace_time": None})


def private_link(context: YishiContext | Services, action: str, community: Community,
                 label: str) -> InlineKeyboardMarkup:
    """A button that opens the private chat with the bot at ``action`` for a community."""
    services = context if isinstance(context, Services) else context.services
    link = DeepLink(action=action, community_id=community.id)
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        label, url=link.url(services.bot_username))]])


async def flow_reply(update: Update, text: str,
                     markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer within a flow where the person is looking: a press on the newest message in
    the chat edits it; a press on an older one takes that one's buttons away and the answer
    comes as a new message at the bottom."""
    query = update.callback_query
    if query is not None:
        await query.answer()
        pressed = query.message
        newest = transcript_of(query.get_bot()).newest(pressed.chat.id) if pressed else None
        try:
            if pressed is None or newest is None or pressed.message_id >= newest:
                await query.edit_message_text(text, reply_markup=markup)
                return
            await query.edit_message_reply_markup(None)
        except BadRequest:
            pass  # too old or unchanged: send a fresh message instead
    assert update.effective_chat is not None
    await update.effective_chat.send_message(text, reply_markup=markup)


async def person_translator(update: Update, context: YishiContext) -> Translator:
    """The language of whoever sent the update, wherever they wrote it."""
    user = update.effective_user
    if user is None:
        return translator(context.services.default_language)
    return translator(await person_language(context, user))


async def chat_translator(update: Update, context: YishiContext) -> Translator:
    """A group speaks its own language; a private chat speaks the person's."""
    chat = update.effective_chat
    if is_group(chat):
        assert chat is not None
        return translator((await ensure_community(context, chat)).language)
    user = update.effective_user
    if user is None:
        return translator(context.services.default_language)
    return translator(await person_language(context, user))


async def role_of(context: YishiContext, community: Community, update: Update) -> Role:
    """The role of whoever sent ``update`` in ``community``."""
    # An anonymous administrator posts as the group itself; only admins can do that.
    if is_anonymous_admin(update, community):
        return Role.MODERATOR
    user = update.effective_user
    if user is None:
        return Role.RESIDENT
    return await user_role(context, community, user.id)


# What an anonymous administrator is told when a flow continues in private: the bot
# cannot write to the group's identity, so they open the link from their own account.
ANONYMOUS_CONTINUE = N_("You are posting as the group, so I cannot write to you: open the "
                        "button from your own account (as an administrator you can go on "
                        "there).")


def is_anonymous_admin(update: Update, community: Community) -> bool:
    """A message posted as the group itself: only its administrators can do that."""
    message = update.effective_message
    return update.callback_query is None and message is not None \
        and message.sender_chat is not None and message.sender_chat.id == community.chat_id


async def user_role(context: YishiContext, community: Community, user_id: int) -> Role:
    """A person's role in a community, wherever they are writing from."""
    async with context.services.db.transaction() as conn:
        membership = await memberships.get(conn, community.id, user_id)
    is_admin = await context.services.admins.is_admin(context.bot, community.chat_id, user_id)
    return effective_role(membership.role if membership else None, is_chat_admin=is_admin)


async def communities_of(context: YishiContext, user_id: int) -> list[Community]:
    """The active communities a person belongs to (has written in, or joined by link)."""
    async with context.services.db.transaction() as conn:
        held = await memberships.communities_of(conn, user_id)
        found = [await communities.by_id(conn, m.community_id) for m in held]
    return [c for c in found if c is not None and c.active]


async def moderated_by(context: YishiContext, user_id: int) -> list[Community]:
    """The active communities in which a person is a moderator."""
    return [c for c in await communities_of(context, user_id)
            if await user_role(context, c, user_id) is Role.MODERATOR]


async def typed_within(message: Message, _: Translator, limit: int) -> str | None:
    """What a person typed, with characters that show nothing and runs of spaces taken
    out; None, once they are told how long it may be, if that leaves nothing or more than
    ``limit`` characters."""
    text = " ".join(visible(message.text or "").split())
    if text and len(text) <= limit:
        return text
    await message.reply_text(_("Please keep it between 1 and {limit} characters; yours has "
                               "{length}.").format(limit=limit, length=len(text)))
    return None


async def refuse(update: Update, context: YishiContext, text_msgid: str) -> None:
    """Tell someone, politely and only them where possible, that they may not do this."""
    query = update.callback_query
    if query is not None:
        user = update.effective_user
        lang = await person_language(context, user) if user else context.services.default_language
        await query.answer(translator(lang)(text_msgid), show_alert=True)
        return
    _ = await chat_translator(update, context)
    if update.effective_message is not None:
        await update.effective_message.reply_text(_(text_msgid))


def moderator_only(callback: Callback) -> Callback:
    """Guard a group command or button: moderators pass; others are refused, nothing changes."""

    @functools.wraps(callback)
    async def guarded(update: Update, context: YishiContext) -> Any:
        chat = update.effective_chat
        if not is_group(chat):
            await refuse(update, context, N_("This works in the building's group chat."))
            return None
        assert chat is not None
        community = await ensure_community(context, chat)
        if await role_of(context, community, update) is not Role.MODERATOR:
            await refuse(update, context, N_(
                "Sorry, only the group's moderators can do that. Nothing was changed."))
            return None
        return await callback(update, context)

    return guarded


async def record_audit(context: YishiContext, community: Community | None, update: Update,
                       action: str, **details: Any) -> None:
    async with context.services.db.transaction() as conn:
        await audit_in(conn, context, community, update, action, **details)


async def audit_in(conn: Connection, context: YishiContext, community: Community | None,
                   update: Update, action: str, **details: Any) -> None:
    """:func:`record_audit` in the caller's transaction, beside what the action wrote."""
    user = update.effective_user
    message = update.effective_message
    anonymous = message is not None and message.sender_chat is not None \
        and update.callback_query is None
    await audit.record(
        conn,
        community_id=community.id if community else None,
        actor_id=None if anonymous or user is None else user.id,
        action=action,
        at=context.services.clock.now(),
        details={**details, **({"anonymous_admin": True} if anonymous else {})},
    )


# A moderator's private flow starts for one group: ``begin`` asks its first question.
Begin = Callable[[Update, YishiContext, Community], Awaitable[int]]


async def begin_for_moderator(update: Update, context: YishiContext, *, begin: Begin,
                              choose_state: int, choose: Button, refusal: str) -> int:
    """Start at once for the one group this person moderates, or offer a button per group
    (``choose`` with the community id). ``refusal`` (a msgid) for a non-moderator."""
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    mine = await moderated_by(context, user.id)
    if not mine:
        await flow_reply(update, _(refusal))
        return ConversationHandler.END
    if len(mine) == 1:
        return await begin(update, context, mine[0])
    await flow_reply(update, _("For which group?"), InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.title, callback_data=choose.data(c.id))]
         for c in mine]))
    return choose_state


async def begin_from_link(update: Update, context: YishiContext, *, begin: Begin,
                          refusal: str) -> int:
    """A group's deep link opened the flow: start for that group if this person moderates
    it."""
    user = update.effective_user
    assert user is not None
    link = DeepLink.parse(" ".join(context.args or []))
    mine = {c.id: c for c in await moderated_by(context, user.id)}
    if link is None or link.community_id not in mine:
        _ = await person_translator(update, context)
        await flow_reply(update, _(refusal))
        return ConversationHandler.END
    return await begin(update, context, mine[link.community_id])


async def begin_for_chosen(update: Update, context: YishiContext, *, begin: Begin,
                           choose_state: int) -> int:
    """The group button of begin_for_moderator, checked again."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    wanted = (query.data or "").rsplit(":", 1)[-1]
    mine = {str(c.id): c for c in await moderated_by(context, user.id)}
    if wanted not in mine:
        await refuse(update, context, N_("This button is out of date."))
        return choose_state
    return await begin(update, context, mine[wanted])


@dataclass(frozen=True)
class ModeratorEntries:
    """The three ways into a moderator's private flow for one group: its ``/command`` in
    private, the group's deep link, and the group button when they moderate several."""

    command: Callback
    from_link: Callback
    group_chosen: Callback


def moderator_entries(*, begin: Begin, draft: str, choose_state: int, choose: Button,
                      refusal: str) -> ModeratorEntries:
    """:class:`ModeratorEntries` that start ``begin`` afresh (the ``draft`` in user_data
    dropped) for the group chosen; ``refusal`` (a msgid) for a non-moderator."""

    async def command(update: Update, context: YishiContext) -> int:
        context.user_data.pop(draft, None)
        return await begin_for_moderator(update, context, begin=begin,
                                         choose_state=choose_state, choose=choose,
                                         refusal=refusal)

    async def from_link(update: Update, context: YishiContext) -> int:
        context.user_data.pop(draft, None)
        return await begin_from_link(update, context, begin=begin, refusal=refusal)

    async def group_chosen(update: Update, context: YishiContext) -> int:
        return await begin_for_chosen(update, context, begin=begin, choose_state=choose_state)

    return ModeratorEntries(command, from_link, group_chosen)


async def draft_community(context: YishiContext, draft: str
                          ) -> tuple[dict[str, Any], Community] | None:
    """A flow's draft (a dict with its ``community``) and that community, if both are
    still there."""
    found = context.user_data.get(draft)
    if not isinstance(found, dict) or "community" not in found:
        return None
    async with context.services.db.transaction() as conn:
        community = await communities.by_id(conn, found["community"])
    return (found, community) if community is not None else None


def date_examples(_: Translator, now: datetime, timezone: str, *,
                  at: time = time(20, 0)) -> str:
    """How a date or deadline can be typed, in the reader's language, with the dated
    examples a week from today (never a day already past)."""
    ahead = (now.astimezone(ZoneInfo(timezone)) + timedelta(days=7)).date()
    return _("e.g. 3d, tomorrow 8pm, next friday, {day_month} or {iso}").format(
        day_month=_("{day}/{month}").format(day=ahead.day, month=ahead.month),
        iso=f"{ahead:%Y-%m-%d} {at:%H:%M}")


def time_problem(_: Translator, code: str, now: datetime, timezone: str, *,
                 at: time = time(20, 0),
                 too_far: str = N_("Please give a time within the coming year.")) -> str:
    """Why a typed time was refused (a :class:`DeadlineError` code), with how to type one."""
    if code == "unreadable":
        return _("I could not read that as a time. Type it like this: {examples}.").format(
            examples=date_examples(_, now, timezone, at=at))
    if code == "too_far":
        return _(too_far)
    return _("That time has passed; give one still to come.")


async def send_tables(context: YishiContext, user_id: int, name: str,
                      summary: list[list[str]], table: list[list[str]]) -> bool:
    """An export in private, as ``name``.csv and ``name``.xlsx (every cell through the one
    writer that defuses formulas); False if the person has not started a chat with the bot."""
    try:
        await context.bot.send_document(user_id, csv_bytes(summary, table),
                                        filename=f"{name}.csv")
        await context.bot.send_document(user_id, await asyncio.to_thread(
            xlsx_bytes, summary, table), filename=f"{name}.xlsx")
    except Forbidden:
        return False
    return True
