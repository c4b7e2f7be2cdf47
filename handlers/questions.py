"""Questions ahead of a vote or a meeting (议题预告): a poll's notice and a round-table
meeting's post carry "Ask a question", which opens a private chat with the bot; the
question goes to the moderators, and a moderator's answer is posted in the group with the
question — never the asker's name — and the asker is told. ``/answer`` lists a
moderator's unanswered questions.

One module over two features (polls and meetings), so it lives beside them; it reads them
from storage and is reached by both."""

from __future__ import annotations

import html
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.buttons import Id, button
from bot.context import YishiApp, YishiContext
from bot.deeplinks import DeepLink, payload_pattern
from bot.domain.meetings import MeetingStatus
from bot.domain.models import Community, Role
from bot.domain.polls import PollStatus
from bot.i18n import N_, Translator, translator
from bot.services import Services
from handlers import outgoing
from handlers.common import (
    flow_reply,
    is_group_member,
    moderated_by,
    person_translator,
    refuse,
    typed_within,
    user_role,
)
from handlers.flows import flow
from handlers.moderators import moderator_ids
from storage import communities, outbox
from storage import meetings as meeting_store
from storage import polls as poll_store
from storage import questions as store

ANSWER = button("qa", Id)  # a moderator answers question <id>
ASKING, ANSWERING = range(110, 112)
LINKS = {"question": "poll", "mquestion": "meeting"}  # /start question_<poll>, mquestion_<m>
TEXT_MAX = 500
DRAFT = "question"


@dataclass(frozen=True)
class Subject:
    """What a question is about: a poll or a meeting."""

    kind: str  # "poll" or "meeting"
    id: int
    ref: str
    title: str
    community: Community
    open: bool  # still taking questions


def ask_button(services: Services, kind: str, subject_id: int, _: Translator
               ) -> InlineKeyboardButton:
    """Under a notice or a meeting's post: a link to ask in private (the link's number is
    the poll's or the meeting's id)."""
    action = next(a for a, k in LINKS.items() if k == kind)
    link = DeepLink(action=action, community_id=subject_id)
    return InlineKeyboardButton(_("Ask a question"), url=link.url(services.bot_username))


async def _subject(context: YishiContext, kind: str, subject_id: int) -> Subject | None:
    async with context.services.db.transaction() as conn:
        if kind == "poll":
            poll = await poll_store.get(conn, subject_id)
            community = await communities.by_id(conn, poll.community_id) if poll else None
            if poll is None or community is None:
                return None
            return Subject("poll", poll.id, poll.ref, poll.question, community,
                           poll.status in (PollStatus.NOTICE, PollStatus.OPEN))
        meeting = await meeting_store.get(conn, subject_id)
        community = await communities.by_id(conn, meeting.community_id) if meeting else None
        if meeting is None or community is None:
            return None
        return Subject("meeting", meeting.id, meeting.ref, meeting.title, community,
                       meeting.status is MeetingStatus.OPEN)


async def command(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    await flow_reply(update, _("Questions are asked about a poll announced ahead of voting or "
                               "a round-table meeting: press “Ask a question” under it in "
                               "the group."))
    return ConversationHandler.END


async def from_link(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    link = DeepLink.parse(" ".join(context.args or []))
    kind = LINKS.get(link.action) if link else None
    found = await _subject(context, kind, link.community_id) if link and kind else None
    if found is None or not found.open:
        await flow_reply(update, _("That is closed, so it takes no more questions."))
        return ConversationHandler.END
    if not await is_group_member(context, found.community, user.id):
        await flow_reply(update, _("Only members of {group} can ask about it.").format(
            group=html.escape(found.community.title)))
        return ConversationHandler.END
    context.user_data[DRAFT] = {"kind": found.kind, "id": found.id}
    await flow_reply(update, _("What is your question about {ref} “{question}”? It goes to "
                               "the committee, and their answer is posted in the group with "
                               "your question, without your name. /cancel to stop.").format(
        ref=found.ref, question=html.escape(found.title)))
    return ASKING


async def question_typed(update: Update, context: YishiContext) -> int:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = await person_translator(update, context)
    draft = context.user_data.get(DRAFT)
    found = await _subject(context, draft["kind"], draft["id"]) \
        if isinstance(draft, dict) else None
    if found is None:
        return ConversationHandler.END
    text = await typed_within(message, _, TEXT_MAX)
    if text is None:
        return ASKING
    services = context.services
    moderators = await moderator_ids(context.bot, services, found.community)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        question_id = await store.ask(
            conn, community_id=found.community.id, asker_id=user.id, text=text, now=now,
            poll_id=found.id if found.kind == "poll" else None,
            meeting_id=found.id if found.kind == "meeting" else None)
        await outbox.queue(conn, await outgoing.to_people(
            conn, moderators, f"question:{question_id}", services.default_language,
            lambda _: _("A question about {ref} “{question}” in {group}: {text}").format(
                ref=found.ref, question=html.escape(found.title),
                group=html.escape(found.community.title), text=html.escape(text)),
            buttons=lambda _: InlineKeyboardMarkup([[InlineKeyboardButton(
                _("Answer it"), callback_data=ANSWER.data(question_id))]])), now)
    context.user_data.pop(DRAFT, None)
    services.outbox.kick()
    await message.reply_text(_("Sent to the committee. Their answer will be posted in the "
                               "group with your question, and I will tell you."))
    return ConversationHandler.END


async def answer_command(update: Update, context: YishiContext) -> int:
    """/answer: the unanswered questions of the groups this person moderates."""
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    mine = await moderated_by(context, user.id)
    async with context.services.db.transaction() as conn:
        waiting = await store.unanswered(conn, [c.id for c in mine]) if mine else []
    if not waiting:
        await flow_reply(update, _("No questions are waiting for an answer."))
        return ConversationHandler.END
    await flow_reply(update, _("Questions waiting for an answer:"), InlineKeyboardMarkup(
        [[InlineKeyboardButton(q.text[:60], callback_data=ANSWER.data(q.id))]
         for q in waiting[:20]]))
    return ConversationHandler.END


async def _question(context: YishiContext, question_id: int
                    ) -> tuple[store.Question, Subject] | None:
    async with context.services.db.transaction() as conn:
        question = await store.get(conn, question_id)
    if question is None:
        return None
    kind, subject_id = ("poll", question.poll_id) if question.poll_id is not None else \
        ("meeting", question.meeting_id)
    found = await _subject(context, kind, subject_id or 0)
    return (question, found) if found is not None else None


async def answer_pressed(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = ANSWER.parse(query.data)
    found = await _question(context, values[0]) if values else None
    if found is None or await user_role(context, found[1].community, user.id) \
            is not Role.MODERATOR:
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    question, subject = found
    if question.answer is not None:
        await refuse(update, context, N_("This question was answered before."))
        return ConversationHandler.END
    context.user_data[DRAFT] = {"answer": question.id}
    _ = await person_translator(update, context)
    await flow_reply(update, _("Type your answer to: {text}\nIt is posted in {group} with the "
                               "question. /cancel to stop.").format(
        text=html.escape(question.text), group=html.escape(subject.community.title)))
    return ANSWERING


async def answer_typed(update: Update, context: YishiContext) -> int:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = await person_translator(update, context)
    draft = context.user_data.get(DRAFT)
    found = await _question(context, draft.get("answer", 0)) \
        if isinstance(draft, dict) else None
    if found is None:
        return ConversationHandler.END
    question, subject = found
    community = subject.community
    text = await typed_within(message, _, 2 * TEXT_MAX)
    if text is None:
        return ANSWERING
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        first = await store.answer(conn, question.id, text, user.id, now)
        if first:
            group = _answer_text(subject, question.text, text, translator(community.language))
            owed = [outgoing.message(f"question:{question.id}:posted", community.chat_id,
                                     group)]
            owed += await outgoing.to_people(
                conn, [question.asker_id], f"question:{question.id}:answered",
                services.default_language,
                lambda _: _("Your question about {ref} was answered in {group}: {answer}")
                .format(ref=subject.ref, group=html.escape(community.title),
                        answer=html.escape(text)))
            await outbox.queue(conn, owed, now)
    context.user_data.pop(DRAFT, None)
    if not first:
        await message.reply_text(_("This question was answered before."))
        return ConversationHandler.END
    services.outbox.kick()
    await message.reply_text(_("Posted in {group} with the question.").format(
        group=html.escape(community.title)))
    return ConversationHandler.END


def _answer_text(subject: Subject, question: str, answer: str, _: Translator) -> str:
    return "\n".join([
        _("<b>Question on {ref}</b> “{poll}”").format(ref=subject.ref,
                                                        poll=html.escape(subject.title)),
        _("❓ {text}").format(text=html.escape(question)),
        _("💬 The committee: {text}").format(text=html.escape(answer)),
    ])


def register(app: YishiApp) -> None:
    private = filters.ChatType.PRIVATE
    typed = filters.TEXT & ~filters.COMMAND
    app.add_handler(flow(
        app, name="question", command="question", doing=N_("asking a question"),
        entry_points=[CommandHandler("question", command, filters=private),
                      *[CommandHandler("start", from_link, filters=private & filters.Regex(
                          payload_pattern(action))) for action in LINKS]],
        states={ASKING: [MessageHandler(typed, question_typed)]},
    ))
    app.add_handler(flow(
        app, name="answer", command="answer", doing=N_("answering a question"),
        entry_points=[CommandHandler("answer", answer_command, filters=private),
                      CallbackQueryHandler(answer_pressed, pattern=ANSWER.matches)],
        states={ANSWERING: [MessageHandler(typed, answer_typed)]},
    ))
