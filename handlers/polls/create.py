"""/poll: a moderator prepares a poll in private (question, options, deadline, who votes,
how votes weigh, the decision rule) and publishes it to the group."""

from __future__ import annotations

import html
import secrets
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    ConversationHandler,
)

from bot.context import YishiContext
from bot.deeplinks import DeepLink
from bot.domain.durations import DeadlineError, parse_deadline
from bot.domain.models import Community, Role
from bot.domain.polls import (
    OPEN_AT_LEAST,
    OPEN_AT_MOST,
    OPTIONS_MAX,
    OPTIONS_MIN,
    QUESTION_MAX,
    Audience,
    PollStatus,
    Rule,
    Weighting,
    deadline_refusal,
)
from bot.i18n import N_, translator
from handlers.common import (
    date_examples,
    ensure_community,
    flow_reply,
    moderated_by,
    moderator_only,
    person_translator,
    private_link,
    record_audit,
    refuse,
    time_problem,
    user_role,
)
from handlers.polls import callbacks
from handlers.polls.draft import (
    DEADLINE,
    DRAFT,
    OPTIONS,
    PREFILL,
    PREVIEW,
    QUESTION,
    _draft,
    _unpublishable,
    _when,
)
from handlers.polls.lifecycle import _arm, _community, _post, announce
from handlers.polls.method_texts import CONSENT_ANSWERS
from handlers.polls.preview import _preview
from handlers.polls.texts import YES_NO_ABSTAIN, _local, _management_buttons
from handlers.topics.lifecycle import put_to_vote
from handlers.topics.lifecycle import refresh_post as refresh_topic_post
from storage import outbox
from storage import polls as store


@moderator_only
async def poll_in_group(update: Update, context: YishiContext) -> None:
    """/poll in the group (moderators): the poll is prepared in private."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    community = await ensure_community(context, chat)
    _ = translator(community.language)
    await message.reply_text(
        _("Polls are prepared in a private chat with me and then posted here."),
        reply_markup=private_link(context, "poll", community, _("Prepare a poll")))


async def poll_command(update: Update, context: YishiContext) -> int:
    """/poll in private: for which group (of those this person moderates)."""
    user = update.effective_user
    assert user is not None
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    mine = await moderated_by(context, user.id)
    if not mine:
        await flow_reply(update, _("Only moderators can create polls. You are not a moderator "
                                   "of any group I am in."))
        return ConversationHandler.END
    if len(mine) == 1:
        return await _begin(update, context, mine[0])
    await flow_reply(update, _("For which group?"), InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.title,
                               callback_data=callbacks.CREATE_FOR.data(c.id))] for c in mine]))
    return QUESTION


async def poll_from_link(update: Update, context: YishiContext) -> int:
    user = update.effective_user
    assert user is not None
    context.user_data.pop(DRAFT, None)
    link = DeepLink.parse(" ".join(context.args or []))
    community = await _community(link.community_id, context) if link else None
    _ = await person_translator(update, context)
    if community is None or not community.active:
        await flow_reply(update, _("That link is not valid any more, so I started from the "
                                   "beginning."))
        return ConversationHandler.END
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await flow_reply(update, _("Sorry, only the group's moderators can do that. Nothing was "
                                   "changed."))
        return ConversationHandler.END
    return await _begin(update, context, community)


async def group_button(update: Update, context: YishiContext) -> int:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    wanted = (query.data or "").rsplit(":", 1)[-1]
    mine = {str(c.id): c for c in await moderated_by(context, user.id)}
    if wanted not in mine:
        await refuse(update, context, N_("This button is out of date."))
        return QUESTION
    return await _begin(update, context, mine[wanted])


async def _begin(update: Update, context: YishiContext, community: Community) -> int:
    _ = await person_translator(update, context)
    draft = {"community": community.id, "audience": Audience.VERIFIED.value,
             "weighting": Weighting.PERSON.value, "rule": Rule.PLURALITY.value,
             "multiple": False, "max_choices": 1, "live": True, "secret": False}
    prefill = context.user_data.pop(PREFILL, None)
    if prefill and prefill.get("community") == community.id:
        draft["topic"] = prefill["topic"]
        context.user_data[DRAFT] = draft
        return await _take_question(update, context, prefill["question"])
    context.user_data[DRAFT] = draft
    await flow_reply(update, _("What should {group} decide? Write the question (at most "
                               "{limit} characters).").format(
        group=html.escape(community.title), limit=QUESTION_MAX))
    return QUESTION


async def question_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    if "community" not in _draft(context):
        return await poll_command(update, context)
    return await _take_question(update, context, message.text)


async def _take_question(update: Update, context: YishiContext, question: str) -> int:
    _ = await person_translator(update, context)
    question = " ".join(question.split())
    if not question or len(question) > QUESTION_MAX:
        await flow_reply(update, _("The question needs 1 to {limit} characters; yours has "
                                   "{length}.").format(limit=QUESTION_MAX, length=len(question)))
        return QUESTION
    draft = _draft(context)
    draft["question"] = question
    if draft.get("amends"):
        # An amended consent proposal: its answers are consent's own, in the group's words.
        community = await _community(draft["community"], context)
        assert community is not None
        group = translator(community.language)
        draft.update(options=[group(answer) for answer in CONSENT_ANSWERS], yes_no=False,
                     method="consent")
        return await _ask_deadline(update, context)
    await flow_reply(update, _("The answers: press Yes / No / Abstain, or write 2 to {max} "
                               "options, one per line.").format(max=OPTIONS_MAX),
                     InlineKeyboardMarkup([[InlineKeyboardButton(
                         " / ".join(_(o) for o in YES_NO_ABSTAIN),
                         callback_data=callbacks.YES_NO_ABSTAIN.data())]]))
    return OPTIONS


def _answers(draft: dict[str, Any], options: list[str], *, yes_no: bool) -> None:
    """New answers: a way of deciding chosen for the old ones (which may have rewritten
    them, as a meeting time and consent do) is chosen again from the preview."""
    draft.update(options=options, yes_no=yes_no)
    draft.pop("typed_options", None)
    if draft.get("method", "choice") != "choice":
        draft.update(method="choice", multiple=False, max_choices=1)


async def options_preset(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    _answers(_draft(context), [_(o) for o in YES_NO_ABSTAIN], yes_no=True)
    return await _ask_deadline(update, context)


async def options_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    _ = await person_translator(update, context)
    options = [" ".join(line.split()) for line in message.text.splitlines() if line.strip()]
    if not OPTIONS_MIN <= len(options) <= OPTIONS_MAX or len(set(options)) != len(options) \
            or any(len(o) > 60 for o in options):
        await message.reply_text(_("Please write 2 to {max} different options, one per line, "
                                   "each at most 60 characters.").format(max=OPTIONS_MAX))
        return OPTIONS
    _answers(_draft(context), options, yes_no=False)
    return await _ask_deadline(update, context)


async def _ask_deadline(update: Update, context: YishiContext) -> int:
    _ = await person_translator(update, context)
    buttons = [InlineKeyboardButton(label, callback_data=callbacks.DEADLINE.data(code))
               for code, label in (("1d", _("1 day")), ("3d", _("3 days")),
                                   ("1w", _("1 week")))]
    community = await _community(_draft(context)["community"], context)
    assert community is not None
    examples = date_examples(_, context.services.clock.now(), community.timezone)
    await flow_reply(update, _("Until when can people vote? Press one, or type a time ({examples})."
                               ).format(examples=examples), InlineKeyboardMarkup([buttons]))
    return DEADLINE


async def deadline_button(update: Update, context: YishiContext) -> int:
    code = ((update.callback_query.data if update.callback_query else "") or "").rsplit(":")[-1]
    return await _take_deadline(update, context, code)


async def deadline_typed(update: Update, context: YishiContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    return await _take_deadline(update, context, message.text)


async def _take_deadline(update: Update, context: YishiContext, text: str) -> int:
    _ = await person_translator(update, context)
    draft = _draft(context)
    community = await _community(draft["community"], context)
    assert community is not None
    try:
        deadline = parse_deadline(text, context.services.clock.now(), community.timezone,
                                  minimum=OPEN_AT_LEAST, maximum=OPEN_AT_MOST)
    except DeadlineError as exc:
        problem = {"unreadable": time_problem(_, exc.code, context.services.clock.now(),
                                              community.timezone),
                   "too_soon": _("A poll must stay open at least 10 minutes."),
                   "too_far": _("A poll can stay open at most 60 days.")}[exc.code]
        await flow_reply(update, problem)
        return DEADLINE
    draft["deadline"] = deadline.isoformat()
    return await _preview(update, context)


async def edit_question(update: Update, context: YishiContext) -> int:
    """Back to the question; the answers, deadline and settings are asked again after it."""
    _ = await person_translator(update, context)
    await flow_reply(update, _("Write the question again (at most {limit} characters).")
                     .format(limit=QUESTION_MAX))
    return QUESTION


async def cancel_draft(update: Update, context: YishiContext) -> int:
    context.user_data.pop(DRAFT, None)
    _ = await person_translator(update, context)
    await flow_reply(update, _("Cancelled. Nothing was sent."))
    return ConversationHandler.END


async def publish(update: Update, context: YishiContext) -> int:
    """Publish: store the poll, post it, arm its reminders and its deadline."""
    user = update.effective_user
    assert user is not None
    draft = context.user_data.pop(DRAFT, {})
    _ = await person_translator(update, context)
    community = await _community(draft.get("community", 0), context)
    if community is None or "deadline" not in draft:
        await flow_reply(update, _("This button is out of date."))
        return ConversationHandler.END
    if await user_role(context, community, user.id) is not Role.MODERATOR:
        await flow_reply(update, _("Sorry, only the group's moderators can do that. Nothing was "
                                   "changed."))
        return ConversationHandler.END
    services = context.services
    now = services.clock.now()
    if deadline_refusal(datetime.fromisoformat(draft["deadline"]), now=now) == "too_soon":
        await flow_reply(update, _("A poll must stay open at least 10 minutes."))
        return ConversationHandler.END
    blocked = await _unpublishable(context, draft, _)
    if blocked:
        # Kept: once the areas are recorded, Publish works from the same preview.
        context.user_data[DRAFT] = draft
        pressed = update.callback_query.message if update.callback_query else None
        await flow_reply(update, "\n".join(blocked),
                         pressed.reply_markup if isinstance(pressed, Message) else None)
        return PREVIEW
    opens, deadline = _when(draft, now)
    async with services.db.transaction() as conn:
        amended = await store.get(conn, draft["amends"]) if draft.get("amends") else None
        again = await store.amended_by(conn, amended.id) if amended else None
    if again is not None:
        await flow_reply(update, _("{ref} was amended already: {again} asks again.").format(
            ref=amended.ref if amended else "", again=again.ref))
        return ConversationHandler.END
    async with services.db.transaction() as conn:
        poll = await store.create(
            conn, community_id=community.id, now=now, question=draft["question"],
            options=draft["options"], multiple=draft["multiple"],
            max_choices=draft["max_choices"], deadline=deadline, audience=draft["audience"],
            scope_building=draft.get("scope_building"),
            scope_staircase=draft.get("scope_staircase"), weighting=draft["weighting"],
            rule=draft["rule"], live_results=draft["live"], topic_id=draft.get("topic"),
            created_by=user.id, secret=draft.get("secret", False),
            method=draft.get("method", "choice"), amends=draft.get("amends"),
            status=PollStatus.NOTICE if opens else PollStatus.OPEN, opens_at=opens,
            notice=draft.get("material") if opens else None)
        if poll.secret:
            await store.set_key(conn, poll.id, secrets.token_hex(32))
        # Its deadline, its reminders and its post go with it, or not at all; announced,
        # the notice goes now and the rest when voting opens (lifecycle.open_voting).
        if opens is None:
            await _arm(conn, services, poll)
            await outbox.queue(conn, [await _post(conn, poll, community)], now)
        else:
            await announce(conn, services, poll, community)
        if poll.topic_id is not None:
            await outbox.queue(conn, await put_to_vote(
                conn, services, poll.topic_id, poll_ref=poll.ref, community=community,
                closes=_local(deadline, community), now=now), now)
    services.outbox.kick()
    if poll.topic_id is not None:
        await refresh_topic_post(context.application, poll.topic_id)
    await record_audit(context, community, update, "poll.create", poll=poll.id)
    if opens is None:
        done = _("{ref} is posted in {group}. It closes {when}.").format(
            ref=poll.ref, group=html.escape(community.title), when=_local(deadline, community))
    else:
        done = _("{ref} is announced in {group} and pinned. Voting opens by itself {opens} "
                 "and closes {when}.").format(
            ref=poll.ref, group=html.escape(community.title), opens=_local(opens, community),
            when=_local(deadline, community))
    await flow_reply(update, done, _management_buttons(poll, _))
    return ConversationHandler.END
