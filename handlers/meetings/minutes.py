"""After a round-table meeting starts, the organiser gets a card: tick who came, then
"Write the minutes" — what was said about each agenda item, then what was agreed, one a
line as ``what | who | by when``. The minutes (协商纪要) are posted to the group and kept;
the organiser gets a button per agreed action that makes it a decision (D-n) in one step,
with its owner (by @username or roster name) and due date when they could be read."""

from __future__ import annotations

import html
import re
import secrets
from datetime import datetime, time, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.meetings import Action, Meeting, MeetingStatus, parse_action
from bot.domain.models import Community, DueWork
from bot.domain.typed import visible
from bot.i18n import N_, Translator, translator
from bot.scheduler import Done, Outcome
from handlers import outgoing
from handlers.common import (
    flow_reply,
    is_group_member,
    person_translator,
    refuse,
    send_tables,
    typed_within,
)
from handlers.decisions.lifecycle import write_down
from handlers.meetings import lifecycle
from handlers.meetings.callbacks import ATTENDED, DECIDE, MINUTES
from handlers.topics.lifecycle import discussed
from storage import audit, communities, outbox, people
from storage import meetings as store

SAID, AGREED, COMMENT = range(140, 143)
COMMENT_LINK = "comment"  # /start comment_<meeting>
COMMENT_PERIOD = timedelta(days=7)
MINUTES_POSTED = "meeting_minutes_post"
TOPIC_REF = re.compile(r"\bT-(\d{1,9})\b", re.IGNORECASE)
DUE_TIME = time(18, 0)  # a due date typed without a time, as for any decision
DRAFT = "minutes"
TEXT_MAX = 1000


async def _card(conn: Any, meeting: Meeting, _: Translator) -> tuple[str, InlineKeyboardMarkup]:
    signed = await store.signed_up(conn, meeting.id)
    names = await people.names(conn, [u for u, _a in signed])
    rows = [[InlineKeyboardButton(("✅ " if came else "☐ ") + (
        names[u].name if u in names else "?"), callback_data=ATTENDED.data(meeting.id, u))]
        for u, came in signed]
    rows.append([InlineKeyboardButton(_("Write the minutes"),
                                      callback_data=MINUTES.data(meeting.id))])
    return _("{ref} “{title}” has begun. Tick who came, then write the minutes.").format(
        ref=meeting.ref, title=html.escape(meeting.title)), InlineKeyboardMarkup(rows)


async def card_due(app: YishiApp, work: DueWork) -> Outcome:
    """Due work at the start: the organiser's card."""
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        meeting = await store.get(conn, int(work.payload["meeting"]))
        if meeting is None or meeting.status is not MeetingStatus.OPEN \
                or meeting.organiser_id is None:
            return Done()
        found = await people.names(conn, [meeting.organiser_id])
        organiser = found.get(meeting.organiser_id)
        if organiser is None or not organiser.started:
            return Done()
        text, markup = await _card(conn, meeting, translator(organiser.reads(
            services.default_language)))
        await outbox.queue(conn, [outgoing.message(
            f"meeting:{meeting.id}:card", meeting.organiser_id, text, markup=markup)],
            services.clock.now())
    services.outbox.kick()
    return Done()


async def _mine(update: Update, context: YishiContext, meeting_id: int
                ) -> tuple[Meeting, Community] | None:
    """The meeting, if this person organises it and its minutes are still to be written."""
    user = update.effective_user
    assert user is not None
    async with context.services.db.transaction() as conn:
        meeting = await store.get(conn, meeting_id)
        community = await communities.by_id(conn, meeting.community_id) if meeting else None
    if meeting is None or community is None or meeting.organiser_id != user.id:
        await refuse(update, context, N_("Only the meeting's organiser can do that."))
        return None
    if meeting.status is not MeetingStatus.OPEN:
        await refuse(update, context, N_("The minutes of this meeting are written already."))
        return None
    if context.services.clock.now() < meeting.starts_at:
        await refuse(update, context, N_("It has not started yet; tell me afterwards."))
        return None
    return meeting, community


async def attended_pressed(update: Update, context: YishiContext) -> None:
    query = update.callback_query
    assert query is not None
    values = ATTENDED.parse(query.data)
    assert values is not None
    found = await _mine(update, context, values[0])
    if found is None:
        return
    _ = await person_translator(update, context)
    async with context.services.db.transaction() as conn:
        await store.toggle_attended(conn, values[0], values[1])
        text, markup = await _card(conn, found[0], _)
    await query.answer()
    await query.edit_message_text(text, reply_markup=markup)


async def minutes_pressed(update: Update, context: YishiContext) -> int:
    query = update.callback_query
    assert query is not None
    values = MINUTES.parse(query.data)
    assert values is not None
    found = await _mine(update, context, values[0])
    if found is None:
        return ConversationHandler.END
    meeting, _community = found
    context.user_data[DRAFT] = {"meeting": meeting.id, "said": []}
    return await _ask_said(update, context, meeting, 0)


async def _ask_said(update: Update, context: YishiContext, meeting: Meeting, n: int) -> int:
    _ = await person_translator(update, context)
    await flow_reply(update, _("{n}. {item}: what was said? (or /skip)").format(
        n=n + 1, item=html.escape(meeting.agenda[n])))
    return SAID


async def said_typed(update: Update, context: YishiContext) -> int:
    draft = context.user_data.get(DRAFT)
    message = update.effective_message
    if not isinstance(draft, dict) or message is None:
        return ConversationHandler.END
    _ = await person_translator(update, context)
    text = "" if (message.text or "").startswith("/skip") else \
        " ".join(visible(message.text or "").split())
    if len(text) > TEXT_MAX:
        await message.reply_text(_("Please keep it under {limit} characters; yours has "
                                   "{length}.").format(limit=TEXT_MAX, length=len(text)))
        return SAID
    async with context.services.db.transaction() as conn:
        meeting = await store.get(conn, draft["meeting"])
    if meeting is None:
        return ConversationHandler.END
    draft["said"].append(text)
    if len(draft["said"]) < len(meeting.agenda):
        return await _ask_said(update, context, meeting, len(draft["said"]))
    await flow_reply(update, _("What was agreed? One a line: what | who | by when, e.g. “Get "
                               "three quotes | @li_wei | 12-20”. Or /skip."))
    return AGREED


async def agreed_typed(update: Update, context: YishiContext) -> int:
    """The last answer: the minutes are posted and kept."""
    draft = context.user_data.get(DRAFT)
    message, user = update.effective_message, update.effective_user
    if not isinstance(draft, dict) or message is None or user is None:
        return ConversationHandler.END
    _ = await person_translator(update, context)
    lines = [] if (message.text or "").startswith("/skip") else (message.text or "").splitlines()
    actions = [a for a in (parse_action(" ".join(visible(line).split())) for line in lines)
               if a is not None]
    found = await _mine(update, context, draft["meeting"])
    context.user_data.pop(DRAFT, None)
    if found is None:
        return ConversationHandler.END
    meeting, community = found
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        came = [u for u, a in await store.signed_up(conn, meeting.id) if a]
        names = await people.names(conn, came)
        minutes = {"attended": came, "said": draft["said"],
                   "agreed": [a.model_dump() for a in actions], "at": now.isoformat()}
        if not await store.write_minutes(conn, meeting.id, minutes):
            return ConversationHandler.END
        text = minutes_text(meeting, [names[u].name for u in came if u in names],
                            draft["said"], actions, translator(community.language))
        footer, markup = _comments_open(
            lifecycle.local(now + COMMENT_PERIOD, community),
            DeepLink(action=COMMENT_LINK, community_id=meeting.id).url(services.bot_username),
            translator(community.language))
        await outbox.queue(conn, [outgoing.message(
            f"meeting:{meeting.id}:minutes", community.chat_id, text + "\n" + footer,
            markup=markup, remember={"what": MINUTES_POSTED, "meeting": meeting.id})], now)
        await lifecycle.refresh(conn, services, meeting.id, now)
        await audit.record(conn, community_id=community.id, actor_id=user.id,
                           action="meeting.minutes", at=now, details={"meeting": meeting.ref})
    services.outbox.kick()
    rows = [[InlineKeyboardButton(_("Make it a decision: {what}").format(what=a.what[:40]),
                                  callback_data=DECIDE.data(meeting.id, n))]
            for n, a in enumerate(actions)]
    await flow_reply(update, _("The minutes of {ref} are posted in {group}.").format(
        ref=meeting.ref, group=html.escape(community.title)),
        InlineKeyboardMarkup(rows) if rows else None)
    return ConversationHandler.END


def minutes_text(meeting: Meeting, came: list[str], said: list[str], actions: list[Action],
                 _: Translator) -> str:
    lines = ["<b>" + _("Minutes of {ref} “{title}” (协商纪要)").format(
                 ref=meeting.ref, title=html.escape(meeting.title)) + "</b>",
             _("Present ({count}): {names}").format(
                 count=len(came), names=html.escape(_.join(came)) if came else "—")]
    for n, (item, text) in enumerate(zip(meeting.agenda, said, strict=False), start=1):
        lines.append(f"{n}. <b>{html.escape(item)}</b>")
        lines.append(html.escape(text) if text else "—")
    lines.append("<b>" + _("Agreed") + "</b>")
    lines += [_("• {what} — {who}, by {when}").format(
        what=html.escape(a.what), who=html.escape(a.who or "?"), when=html.escape(a.when or "?"))
        for a in actions] or ["—"]
    return "\n".join(lines)[:4096]


async def decide_pressed(update: Update, context: YishiContext) -> None:
    """An agreed action becomes a decision: its owner and due date when they can be read."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = DECIDE.parse(query.data)
    assert values is not None
    services = context.services
    async with services.db.transaction() as conn:
        meeting = await store.get(conn, values[0])
        community = await communities.by_id(conn, meeting.community_id) if meeting else None
    agreed = (meeting.minutes or {}).get("agreed", []) if meeting else []
    if meeting is None or community is None or meeting.organiser_id != user.id \
            or values[1] >= len(agreed):
        await refuse(update, context, N_("This button is out of date."))
        return
    action = Action(**agreed[values[1]])
    if str(values[1]) in (meeting.minutes or {}).get("decided", {}):
        await refuse(update, context, N_("This action is a decision already."))
        return
    now = services.clock.now()
    async with services.db.transaction() as conn:
        owner = await _owner(conn, community, action.who)
        try:
            due = parse_deadline(action.when, now, community.timezone,
                                 minimum=timedelta(0), maximum=timedelta(days=3650),
                                 default_time=DUE_TIME) if action.when else None
        except DeadlineError:
            due = None
        made = await write_down(conn, services, community, title=action.what,
                                owner_id=owner.user_id if owner else None, due_at=due,
                                actor_id=user.id, now=now)
        await store.mark_decided(conn, meeting.id, values[1], made.id)
    _ = await person_translator(update, context)
    services.outbox.kick()
    await query.answer(_("{ref} is written down.").format(ref=made.ref), show_alert=True)


async def _owner(conn: Any, community: Community, who: str) -> Any:
    who = who.strip()
    if not who:
        return None
    if who.startswith("@"):
        return await people.by_username(conn, who)
    named = await people.named_in(conn, community.id, who)
    return named[0] if len(named) == 1 else None


# --- comments on the minutes, from those who could not come ------------------------------


async def comment_command(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    await flow_reply(update, _("To comment on a meeting's minutes, press “Comment on the "
                               "minutes” under them in the group."))
    return ConversationHandler.END


async def comment_from_link(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    link = DeepLink.parse(" ".join(context.args or []))
    async with context.services.db.transaction() as conn:
        meeting = await store.get(conn, link.community_id) if link else None
        community = await communities.by_id(conn, meeting.community_id) if meeting else None
    if meeting is None or community is None or not _open_for_comments(
            meeting, context.services.clock.now()):
        await flow_reply(update, _("Those minutes no longer take comments."))
        return ConversationHandler.END
    if not await is_group_member(context, community, user.id):
        await flow_reply(update, _("Only members of {group} can comment on its minutes.")
                         .format(group=html.escape(community.title)))
        return ConversationHandler.END
    context.user_data[DRAFT] = {"comment": meeting.id}
    await flow_reply(update, _("Your comment on the minutes of {ref} “{title}”? It is posted "
                               "in the group with your name. /cancel to stop.").format(
        ref=meeting.ref, title=html.escape(meeting.title)))
    return COMMENT


def _open_for_comments(meeting: Meeting, now: datetime) -> bool:
    written = (meeting.minutes or {}).get("at")
    return meeting.status is MeetingStatus.HELD and written is not None \
        and now < datetime.fromisoformat(written) + COMMENT_PERIOD


async def comment_typed(update: Update, context: YishiContext) -> int:
    message, user = update.effective_message, update.effective_user
    draft = context.user_data.get(DRAFT)
    if message is None or user is None or not isinstance(draft, dict) or "comment" not in draft:
        return ConversationHandler.END
    _ = await person_translator(update, context)
    text = await typed_within(message, _, TEXT_MAX // 2)
    if text is None:
        return COMMENT
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        meeting = await store.get(conn, draft["comment"])
        community = await communities.by_id(conn, meeting.community_id) if meeting else None
        if meeting is None or community is None or not _open_for_comments(meeting, now):
            meeting = None
        else:
            name = (await people.names(conn, [user.id])).get(user.id)
            await outbox.queue(conn, [outgoing.message(
                f"meeting:{meeting.id}:comment:{secrets.token_hex(8)}", community.chat_id,
                _comment(meeting, name.name if name else "?", text,
                         translator(community.language)))], now)
    context.user_data.pop(DRAFT, None)
    if meeting is None:
        await message.reply_text(_("Those minutes no longer take comments."))
        return ConversationHandler.END
    services.outbox.kick()
    await message.reply_text(_("Posted in {group}.").format(group=html.escape(community.title)))
    return ConversationHandler.END


def _comments_open(until: str, url: str, _: Translator) -> tuple[str, InlineKeyboardMarkup]:
    """The minutes' last line and their button, in the group's language."""
    return (_("Could not come? Comment on the minutes until {until}.").format(until=until),
            InlineKeyboardMarkup([[InlineKeyboardButton(_("Comment on the minutes"),
                                                        url=url)]]))


def _comment(meeting: Meeting, name: str, text: str, _: Translator) -> str:
    return _("💬 On the minutes of {ref}, from {name}: {text}").format(
        ref=meeting.ref, name=html.escape(name), text=html.escape(text))


async def export_meeting(update: Update, context: YishiContext, community: Community) -> None:
    """/export M-1 (moderators, checked by handlers/export.py): the minutes as CSV and XLSX,
    sent in private, through the one writer that defuses formulas."""
    message, user = update.effective_message, update.effective_user
    assert message is not None
    _ = translator(community.language)
    ref = (context.args or [""])[0].upper()
    number = int(ref[2:]) if ref[2:].isascii() and ref[2:].isdigit() else 0
    async with context.services.db.transaction() as conn:
        meeting = await store.by_number(conn, community.id, number)
        minutes = (meeting.minutes or {}) if meeting else {}
        names = await people.names(conn, list(minutes.get("attended", [])))
    if meeting is None or not minutes:
        await message.reply_text(_("{ref} has no minutes yet.").format(ref=ref))
        return
    if user is None or message.sender_chat is not None:
        await message.reply_text(_("Send /export as yourself: the minutes go to you in "
                                   "private."))
        return
    summary = [[_("Meeting"), f"{meeting.ref} {meeting.title}"], [_("Group"), community.title],
               [_("When"), lifecycle.local(meeting.starts_at, community)],
               [_("Where"), meeting.place],
               [_("Present"), ", ".join(p.name for p in names.values())]]
    table = [[_("Agenda item"), _("What was said")],
             *[[item, said] for item, said in zip(meeting.agenda, minutes.get("said", []),
                                                  strict=False)],
             [_("Agreed"), _("Who"), _("By when")],
             *[[a.get("what", ""), a.get("who", ""), a.get("when", "")]
               for a in minutes.get("agreed", [])]]
    if not await send_tables(context, user.id, meeting.ref, summary, table):
        await message.reply_text(_("I can only send the minutes in private. Start a chat "
                                   "with me, then send /export again."))
        return
    await message.reply_text(_("The minutes of meeting {ref} are sent to you in private.")
                             .format(ref=meeting.ref))


def message_link(chat_id: int, message_id: int) -> str | None:
    """A link to a message in a supergroup, which its members can open; None for a basic
    group (Telegram has no such link for one)."""
    internal = -chat_id - 1_000_000_000_000
    return f"https://t.me/c/{internal}/{message_id}" if internal > 0 else None


async def minutes_posted(conn: Any, remember: dict[str, Any], answer: Any, now: Any) -> None:
    """The minutes are in the group: the topics their agenda names (T-3) move to
    "discussed" with the link, and tell their author and backers."""
    meeting = await store.get(conn, int(remember["meeting"]))
    community = await communities.by_id(conn, meeting.community_id) if meeting else None
    if meeting is None or community is None:
        return
    link = message_link(int(answer["chat"]["id"]), int(answer["message_id"]))
    numbers = sorted({int(m) for item in meeting.agenda for m in TOPIC_REF.findall(item)})
    owed = []
    for number in numbers:
        owed += await discussed(conn, number, community=community, meeting_ref=meeting.ref,
                                link=link, now=now)
    await outbox.queue(conn, owed, now)
