"""Questions on a poll announced ahead of voting (议题预告): the notice carries "Ask a
question", which opens a private chat with the bot; the question goes to the moderators,
and a moderator's answer is posted in the group with the question — never the asker's
name — and the asker is told. ``/answer`` lists a moderator's unanswered questions."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from bot.buttons import Id, button
from bot.context import YishiContext
from bot.deeplinks import DeepLink
from bot.domain.models import Community, Role
from bot.domain.polls import Poll, PollStatus
from bot.domain.typed import visible
from bot.i18n import N_, Translator, translator
from bot.services import Services
from handlers import outgoing
from handlers.common import (
    flow_reply,
    is_group_member,
    moderated_by,
    person_translator,
    refuse,
    user_role,
)
from handlers.moderators import moderator_ids
from storage import communities, outbox
from storage import poll_questions as store
from storage import polls as poll_store

ANSWER = button("qa", Id)  # a moderator answers question <id>
ASKING, ANSWERING = range(110, 112)
LINK = "question"  # /start question_<poll>
TEXT_MAX = 500
DRAFT = "question"


def ask_button(services: Services, poll: Poll, _: Translator) -> InlineKeyboardMarkup:
    """Under the notice: a link to ask in private (the link's number is the poll's id)."""
    link = DeepLink(action=LINK, community_id=poll.id)
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("Ask a question"), url=link.url(services.bot_username))]])


async def _poll(context: YishiContext, poll_id: int) -> tuple[Poll, Community] | None:
    async with context.services.db.transaction() as conn:
        poll = await poll_store.get(conn, poll_id)
        community = await communities.by_id(conn, poll.community_id) if poll else None
    if poll is None or community is None:
        return None
    return poll, community


async def command(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    await flow_reply(update, _("Questions are asked about a poll announced ahead of voting: "
                               "press “Ask a question” under its notice in the group."))
    return ConversationHandler.END


async def from_link(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    _ = await person_translator(update, context)
    link = DeepLink.parse(" ".join(context.args or []))
    found = await _poll(context, link.community_id) if link else None
    if found is None or found[0].status not in (PollStatus.NOTICE, PollStatus.OPEN):
        await flow_reply(update, _("That poll is closed, so it takes no more questions."))
        return ConversationHandler.END
    poll, community = found
    if not await is_group_member(context, community, user.id):
        await flow_reply(update, _("Only members of {group} can ask about its polls.").format(
            group=html.escape(community.title)))
        return ConversationHandler.END
    context.user_data[DRAFT] = poll.id
    await flow_reply(update, _("What is your question about {ref} “{question}”? It goes to "
                               "the committee, and their answer is posted in the group with "
                               "your question, without your name. /cancel to stop.").format(
        ref=poll.ref, question=html.escape(poll.question)))
    return ASKING


async def question_typed(update: Update, context: YishiContext) -> int:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = await person_translator(update, context)
    found = await _poll(context, context.user_data.get(DRAFT, 0))
    if found is None:
        return ConversationHandler.END
    poll, community = found
    text = " ".join(visible(message.text or "").split())
    if not text or len(text) > TEXT_MAX:
        await message.reply_text(_("Please keep it between 1 and {limit} characters; yours "
                                   "has {length}.").format(limit=TEXT_MAX, length=len(text)))
        return ASKING
    services = context.services
    moderators = await moderator_ids(context.bot, services, community)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        question_id = await store.ask(conn, poll.id, user.id, text, now)
        await outbox.queue(conn, await outgoing.to_people(
            conn, moderators, f"question:{question_id}", services.default_language,
            lambda _: _("A question about {ref} “{question}” in {group}: {text}").format(
                ref=poll.ref, question=html.escape(poll.question),
                group=html.escape(community.title), text=html.escape(text)),
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


async def answer_pressed(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    values = ANSWER.parse(query.data)
    async with context.services.db.transaction() as conn:
        question = await store.get(conn, values[0]) if values else None
    found = await _poll(context, question.poll_id) if question else None
    if question is None or found is None \
            or await user_role(context, found[1], user.id) is not Role.MODERATOR:
        await refuse(update, context, N_("This button is out of date."))
        return ConversationHandler.END
    if question.answer is not None:
        await refuse(update, context, N_("This question was answered before."))
        return ConversationHandler.END
    context.user_data[DRAFT] = question.id
    _ = await person_translator(update, context)
    await flow_reply(update, _("Type your answer to: {text}\nIt is posted in {group} with the "
                               "question. /cancel to stop.").format(
        text=html.escape(question.text), group=html.escape(found[1].title)))
    return ANSWERING


async def answer_typed(update: Update, context: YishiContext) -> int:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = await person_translator(update, context)
    async with context.services.db.transaction() as conn:
        question = await store.get(conn, context.user_data.get(DRAFT, 0))
    found = await _poll(context, question.poll_id) if question else None
    if question is None or found is None:
        return ConversationHandler.END
    poll, community = found
    text = " ".join(visible(message.text or "").split())
    if not text or len(text) > 2 * TEXT_MAX:
        await message.reply_text(_("Please keep it between 1 and {limit} characters; yours "
                                   "has {length}.").format(limit=2 * TEXT_MAX,
                                                           length=len(text)))
        return ANSWERING
    services = context.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        first = await store.answer(conn, question.id, text, user.id, now)
        if first:
            group = _answer_text(poll, question.text, text, community)
            owed = [outgoing.message(f"question:{question.id}:posted", community.chat_id,
                                     group)]
            owed += await outgoing.to_people(
                conn, [question.asker_id], f"question:{question.id}:answered",
                services.default_language,
                lambda _: _("Your question about {ref} was answered in {group}: {answer}")
                .format(ref=poll.ref, group=html.escape(community.title),
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


def _answer_text(poll: Poll, question: str, answer: str, community: Community) -> str:
    _ = translator(community.language)
    return "\n".join([
        _("<b>Question on {ref}</b> “{poll}”").format(ref=poll.ref,
                                                        poll=html.escape(poll.question)),
        _("❓ {text}").format(text=html.escape(question)),
        _("💬 The committee: {text}").format(text=html.escape(answer)),
    ])
